"""P14: `cargohold fs cp -r` of a tree of many small files streams its listing: bytes move before the listing ends,
and peak memory stays small."""

from __future__ import annotations

import re
from pathlib import Path

from clouds import place, register
from harness import Figure, NotAvailableError, Result, missing, quiet_env, scratch, script
from memory import peak_rss_and_stderr

MB = 1 << 20
#: Files in the tree on each store, and in the smaller tree each is compared with; moto takes ~7 ms a file.
FILES = {"local": 200_000, "s3": 5_000}
SMALLER = 10
PER_FOLDER = 1000
SIZE = 64
LIMIT = 300 * MB
TARGET = f"<= {LIMIT // MB} MB"
#: A progress line: "<done>/<listed so far> files, ...".
_LINE = re.compile(r"^(\d+)/(\d+) files")


def _tree(top: Path, files: int) -> Path:
    """``files`` files of ``SIZE`` bytes, ``PER_FOLDER`` to a folder."""
    for i in range(files):
        folder = top / f"d{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True)
        (folder / f"f{i:06d}").write_bytes(i.to_bytes(8, "big") * (SIZE // 8))
    return top


def _copy(argv: list[str], env: dict[str, str]) -> tuple[int, tuple[int, int] | None]:
    """Peak resident bytes of one CLI copy, and the counts of its first progress line
    after a file arrived: files done, and files listed by then."""
    peak, stderr = peak_rss_and_stderr(argv, env)
    first = next((m for line in stderr.splitlines() if (m := _LINE.match(line)) and int(m[1])), None)
    return peak, (int(first[1]), int(first[2])) if first else None


def _flavor(flavor: str, workdir: Path) -> Figure:
    files = FILES[flavor]
    measure = f"{flavor}: peak RSS of `cargohold fs cp -r` of {files:,} files of {SIZE} B"
    try:
        cargohold = script("cargohold")
        with place(flavor, workdir, "p14") as where:
            env = quiet_env(workdir / f"home-{flavor}")
            register(env, f"bench-{flavor}", where)
            peaks = {}
            for count in (files // SMALLER, files):
                source = _tree(workdir / f"tree-{count}", count)
                argv = [cargohold, "fs", "cp", "-r", "--progress-every", "1", f"{source}/", f"bench-{flavor}:copy"]
                peaks[count], first = _copy(argv, env)
                copied = where.store.list_objects("copy")
                if len(copied) != count:
                    raise RuntimeError(f"{len(copied)} files arrived of {count}")
                where.clear()
    except NotAvailableError as exc:
        return missing(measure, TARGET, str(exc))
    small, large = peaks[files // SMALLER], peaks[files]
    streamed = (
        f"a progress line: {first[0]:,} files copied, {first[1]:,} listed"
        if first
        else "no progress line: the copy took under a second"
    )
    return Figure(
        measure,
        f"{large / MB:.0f} MB",
        f"{small / MB:.0f} MB with {files // SMALLER:,} files",
        large / small,
        TARGET,
        "pass" if large <= LIMIT else "miss",
        streamed,
    )


def p14() -> Result:
    """One copy of each tree into each store; RSS is not noisy the way time is, so once is enough."""
    with scratch("p14") as workdir:
        figures = [_flavor(flavor, workdir) for flavor in FILES]
    return Result(
        "P14",
        f"peak RSS of `cargohold fs cp -r` of a tree of {FILES['local']:,} small files into the local store, "
        f"and of {FILES['s3']:,} into s3",
        "ru_maxrss of the CLI process (as P8 measures it), copying a tree on tmpfs of files of "
        f"{SIZE} B, {PER_FOLDER} to a folder, into a store registered in a private CARGOHOLD_HOME (local on tmpfs, "
        f"s3 on moto), against a tree {SMALLER} times smaller; the note gives the first progress line (one a second) "
        "after a file arrived: how many files were listed by then, fewer than the tree's while the listing streams",
        figures,
    )
