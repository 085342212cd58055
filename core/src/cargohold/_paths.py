"""Path parsing shared by every store and by fileio's routing: schemes and normalised segments."""

from __future__ import annotations

import re

__all__ = ["inside", "normalize", "split_scheme"]

#: A URL's scheme as RFC 3986 spells it, at the very start: ``loc:a://b`` has none, ``S3://b`` has ``s3://``.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def split_scheme(path: str) -> tuple[str, str]:
    """``("s3://", "bucket/key")`` for a URL (the scheme lower-cased), ``("", path)`` for anything else."""
    found = _SCHEME.match(path)
    if found is None:
        return "", path
    return found.group().lower(), path[found.end() :]


def normalize(rest: str) -> tuple[str, ...] | None:
    """The segments a path names once ``.``, ``..`` and empties are resolved; None if ``..`` climbs too high."""
    parts: list[str] = []
    for part in rest.split("/"):
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part and part != ".":
            parts.append(part)
    return tuple(parts)


def inside(parts: tuple[str, ...], root: tuple[str, ...]) -> bool:
    """Whether normalised ``parts`` lie at or below ``root``: a segment comparison, so ``root2`` is not in ``root``."""
    return parts[: len(root)] == root
