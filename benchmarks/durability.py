"""P9: what fsyncing each copy into a local store costs, on a real disk (tmpfs would hide it)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from harness import Figure, NotAvailableError, Result, alternate, for_scale, quiet_env, run_timed, script

MB = 1 << 20
SMALL_FILES = 1000
SMALL_SIZE = 16 << 10
BIG = 200 * MB
ROUNDS = 5
#: A folder on a disk: /var/tmp outlives a reboot, so it is not tmpfs where the system follows the FHS.
DISK = Path("/var/tmp")


def _filesystem(path: Path) -> str:
    """The type of the filesystem holding ``path``, from the longest matching mount point."""
    best, kind = "", "unknown"
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, point, fstype, *_ = line.split()
        if (str(path) == point or str(path).startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, kind = point, fstype
    return kind


def _figure(measure: str, source: Path, workdir: Path, env: dict[str, str], cargohold: str) -> Figure:
    count = iter(range(1 << 30))

    def copy(*options: str) -> float:
        target = workdir / "store" / f"{next(count)}"
        elapsed = run_timed([cargohold, "fs", "cp", "-r", "-q", *options, str(source), f"bench:{target.name}"], env)
        shutil.rmtree(target)
        return elapsed

    paired = alternate(copy, lambda: copy("--no-fsync"), ROUNDS)
    ours, baseline = paired.ours_median, paired.baseline_median
    return for_scale(measure, ours, baseline, ours / baseline, f"median of {ROUNDS} alternating rounds", unit="s")


def p9() -> Result:
    """Each copy once with fsync (the default) and once with --no-fsync, alternating, on a disk."""
    kind = _filesystem(DISK)
    if kind in ("tmpfs", "ramfs", "unknown"):
        raise NotAvailableError(f"{DISK} is on {kind}, not a disk; fsync would cost nothing there")
    cargohold = script("cargohold")
    workdir = Path(tempfile.mkdtemp(prefix="cargohold-bench-p9-", dir=DISK))
    try:
        env = quiet_env(workdir / "home")
        run_timed(
            [cargohold, "artifact-store", "register", "bench", "--flavor", "local", f"--path={workdir / 'store'}"], env
        )
        small, big = workdir / "small", workdir / "big"
        small.mkdir()
        for i in range(SMALL_FILES):
            (small / f"{i:04d}.bin").write_bytes(os.urandom(SMALL_SIZE))
        big.mkdir()
        (big / "one.bin").write_bytes(os.urandom(BIG))
        figures = [
            _figure(
                f"local ({kind}): {SMALL_FILES} x {SMALL_SIZE >> 10} KB, fsync against --no-fsync",
                small,
                workdir,
                env,
                cargohold,
            ),
            _figure(f"local ({kind}): one {BIG // MB} MB file, fsync against --no-fsync", big, workdir, env, cargohold),
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return Result(
        "P9",
        "what fsyncing each copy into a local store costs on a disk",
        f"`cargohold fs cp -r -q` from and into folders on {DISK} ({kind}), the default (each file and its "
        f"folder fsynced before it counts) against --no-fsync; {ROUNDS} alternating rounds, medians",
        figures,
    )
