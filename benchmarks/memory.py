"""P8: `cargohold fs cp` streams both ways, so its peak memory stays small and does not grow with the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from clouds import CLOUDS, place, register
from harness import Figure, NotAvailableError, Result, missing, quiet_env, scratch, script

MB = 1 << 20
SIZES = (256 * MB, 1024 * MB)
LIMIT = 150 * MB
#: "Flat": the peak may grow by no more than this from the smaller file to the larger one.
GROWTH = 16 * MB
TARGET = f"<= {LIMIT // MB} MB, flat"


#: Runs its arguments as a command and prints the command's peak RSS in kilobytes. Linux carries a
#: process's high-water mark across fork and exec, so a CLI spawned straight from this benchmark would
#: report the benchmark's own peak whenever that is larger (610 MB for a 37 MB copy, from a parent
#: holding 300 MB); started from this small launcher, it reports its own.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss(argv: list[str], env: dict[str, str]) -> int:
    """Peak resident bytes of one process (its own, from wait4 in ``LAUNCHER``), which must succeed."""
    return peak_rss_and_stderr(argv, env)[0]


def peak_rss_and_stderr(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """:func:`peak_rss`, and what the process printed on stderr (its progress lines, for one)."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return int(done.stdout) * 1024, done.stderr  # kilobytes on Linux


def source_files(workdir: Path) -> dict[int, Path]:
    """One file of each of ``SIZES`` in ``workdir``, written in blocks so that making it costs no memory."""
    block = os.urandom(8 * MB)
    sources = {}
    for size in SIZES:
        sources[size] = workdir / f"{size // MB}MB.bin"
        with sources[size].open("wb") as f:
            for _ in range(size // len(block)):
                f.write(block)
    return sources


def flat_peak(measure: str, peaks: dict[int, int]) -> Figure:
    """The row for a peak RSS measured at each of ``SIZES``: under ``LIMIT`` and flat from the smaller to the
    larger file, or a miss saying by how much it grew."""
    small, large = (peaks[size] for size in SIZES)
    flat = large - small <= GROWTH
    return Figure(
        measure,
        f"{large / MB:.0f} MB",
        f"{small / MB:.0f} MB with a {SIZES[0] // MB} MB file",
        large / small,
        TARGET,
        "pass" if large <= LIMIT and flat else "miss",
        "" if flat else f"grew by {(large - small) / MB:.0f} MB from the smaller file",
    )


def _flavor(flavor: str, workdir: Path, sources: dict[int, Path]) -> list[Figure]:
    """The upload row and the download row of one store: each size goes into it, then comes back out of it
    into a local file, by the same command."""
    into = f"{flavor}: peak RSS of `cargohold fs cp` of a {SIZES[-1] // MB} MB file into the store"
    out = f"{flavor}: peak RSS of `cargohold fs cp` of a {SIZES[-1] // MB} MB file out of the store"
    try:
        cargohold = script("cargohold")
        with place(flavor, workdir, "p8") as where:
            env = quiet_env(workdir / f"home-{flavor}")
            register(env, f"bench-{flavor}", where)
            uploads, downloads = {}, {}
            back = workdir / "back.bin"
            for size, source in sources.items():
                stored = f"bench-{flavor}:{size}.bin"
                uploads[size] = peak_rss([cargohold, "fs", "cp", "-q", str(source), stored], env)
                downloads[size] = peak_rss([cargohold, "fs", "cp", "-q", stored, str(back)], env)
                if back.stat().st_size != size:
                    raise RuntimeError(f"{stored} came back as {back.stat().st_size} bytes, not {size}")
                back.unlink()
                where.clear()
    except NotAvailableError as exc:
        return [missing(into, TARGET, str(exc)), missing(out, TARGET, str(exc))]
    return [flat_peak(into, uploads), flat_peak(out, downloads)]


def p8() -> Result:
    """One copy of each size into each store and back out; RSS is not noisy the way time is, so once is enough."""
    with scratch("p8") as workdir:
        sources = source_files(workdir)
        figures = [figure for flavor in ("local", *CLOUDS) for figure in _flavor(flavor, workdir, sources)]
    return Result(
        "P8",
        f"peak RSS of `cargohold fs cp` of a {SIZES[-1] // MB} MB file, and of a {SIZES[0] // MB} MB one, "
        "into each store and out of it",
        "ru_maxrss of the CLI process (wait4 in a small launcher, so that the benchmark's own peak is not "
        "counted), a local file on tmpfs copied into a store registered in a private CARGOHOLD_HOME (cloud "
        "stores on their emulators), then copied back out of the store into a new local file on tmpfs; "
        f"flat = grows by at most {GROWTH // MB} MB from the {SIZES[0] // MB} MB file to the {SIZES[-1] // MB} MB "
        "one; ratio = large over small",
        figures,
    )
