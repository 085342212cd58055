"""Path parsing shared by every store and by fileio's routing: schemes and normalised segments."""

from __future__ import annotations

__all__ = ["inside", "normalize", "split_scheme"]


def split_scheme(path: str) -> tuple[str, str]:
    """``("s3://", "bucket/key")`` for a URL, ``("", path)`` for a plain local path."""
    index = path.find("://")
    if index > 0 and path[:index].replace("+", "").replace("-", "").replace(".", "").isalnum():
        return path[: index + 3].lower(), path[index + 3 :]
    return "", path


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
