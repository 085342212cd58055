"""What every measure shares: figures and their verdicts, alternating timers, machine facts, result files.

The machine these run on is noisy (other processes come and go), so a ratio is never taken
between two runs made minutes apart: each round times our side and the baseline back to back,
in alternating order, and the ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
#: Local-file measures run here, so the disk under /tmp is not what gets measured.
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") else None

Status = Literal["pass", "miss", "not available yet", "info"]
#: Local-file trials count this process's CPU time (user + system): on tmpfs that is all the work there
#: is, and unlike wall time it does not count the moments another process held the CPU.
cpu_time = time.process_time


class NotAvailableError(Exception):
    """A measure needs something that has not landed yet (a flavor, a command); says what."""


@dataclass(frozen=True)
class Figure:
    """One row of the README table: our number, the baseline's, their ratio, the target, the verdict."""

    measure: str
    ours: str
    baseline: str
    ratio: float | None
    target: str
    status: Status
    note: str = ""


def slower_by(measure: str, ours: float, baseline: float, ratio: float, at_most: float, unit: str = "ms") -> Figure:
    """A time where lower is better: ``ratio`` is ours over baseline and must stay at or under ``at_most``."""
    return Figure(
        measure,
        _show(ours, unit),
        _show(baseline, unit),
        ratio,
        f"<= {at_most:g}x",
        "pass" if ratio <= at_most else "miss",
    )


def faster_by(measure: str, ours: float, baseline: float, ratio: float, at_least: float, unit: str = "ms") -> Figure:
    """A time where we must win: ``ratio`` is baseline over ours and must reach ``at_least``."""
    return Figure(
        measure,
        _show(ours, unit),
        _show(baseline, unit),
        ratio,
        f">= {at_least:g}x",
        "pass" if ratio >= at_least else "miss",
    )


def for_scale(measure: str, ours: float, baseline: float, ratio: float, note: str, unit: str = "ms") -> Figure:
    """A figure shown beside a target's row to put it in proportion; it has no target of its own."""
    return Figure(measure, _show(ours, unit), _show(baseline, unit), ratio, "-", "info", note)


def missing(measure: str, target: str, why: str) -> Figure:
    """A row that cannot be measured yet; it never counts as a pass."""
    return Figure(measure, "-", "-", None, target, "not available yet", why)


def _show(value: float, unit: str) -> str:
    scaled = value * 1000 if unit == "ms" else value
    return f"{scaled:.3g} {unit}" if scaled < 100 else f"{scaled:.0f} {unit}"


@dataclass
class Result:
    """Everything one id measured, as written to ``benchmarks/results/<id>.json``."""

    id: str
    title: str
    method: str
    figures: list[Figure]
    date: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    machine: dict[str, Any] = field(default_factory=lambda: machine())

    @property
    def status(self) -> Status:
        """The worst row decides: one miss is a miss, and anything unmeasured is not a pass."""
        statuses = {f.status for f in self.figures} - {"info"}
        if "miss" in statuses:
            return "miss"
        if "not available yet" in statuses or not statuses:
            return "not available yet"
        return "pass"

    def save(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.id}.json"
        path.write_text(json.dumps({**asdict(self), "status": self.status}, indent=2, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> Result:
        data = json.loads(path.read_text())
        data.pop("status")
        data["figures"] = [Figure(**f) for f in data["figures"]]
        return cls(**data)


def commit() -> str:
    """The commit measured, with ``+changes`` when the checkout differs from it; ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "core", "plugins"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty else "")


def machine() -> dict[str, Any]:
    """The facts that make a figure comparable: cores, CPU, Python, kernel, the load when it ran, and the commit."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.release()}",
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "commit": commit(),
    }


@dataclass(frozen=True)
class Paired:
    """Per-round timings of both sides; the ratio is the median of each round's own ratio."""

    ours: list[float]
    baseline: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(o / b for o, b in zip(self.ours, self.baseline, strict=True))

    @property
    def spread(self) -> tuple[float, float]:
        """The lowest and highest per-round ratio: how far one run's figure could land from the median."""
        ratios = [o / b for o, b in zip(self.ours, self.baseline, strict=True)]
        return min(ratios), max(ratios)

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline)


def alternate(ours: Callable[[], float], baseline: Callable[[], float], rounds: int) -> Paired:
    """Run both trials ``rounds`` times, swapping which goes first each round; each returns its seconds.

    A trial times only its own work and leaves setup (fresh folders, data) outside its clock.
    A collection before each trial keeps one side's garbage from being paid by the other.
    """
    mine: list[float] = []
    theirs: list[float] = []
    for i in range(rounds):
        for side in (ours, baseline) if i % 2 == 0 else (baseline, ours):
            gc.collect()
            (mine if side is ours else theirs).append(side())
    return Paired(mine, theirs)


def run_timed(argv: Sequence[str], env: Mapping[str, str] | None = None) -> float:
    """Wall seconds of one process from spawn to exit; a failure stops the measure with its stderr."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return elapsed


def script(name: str) -> str:
    """A console script installed beside the running interpreter (the benchmark's own environment)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise NotAvailableError(
            f"no {name!r} script beside {sys.executable}; install the distribution that provides it"
        )
    return str(path)


@contextlib.contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A fresh folder on tmpfs where there is one, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"cargohold-bench-{prefix}-", dir=SCRATCH))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of measured processes: ours, but bytecode is cached as in any installed program.

    With PYTHONDONTWRITEBYTECODE set (some shells and CI set it), every run would compile every module
    again, and startup figures would measure the compiler.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def quiet_env(home: Path) -> dict[str, str]:
    """The environment for CLI runs: a private, empty CARGOHOLD_HOME and cache, so no user file is read or written."""
    return child_env(CARGOHOLD_HOME=str(home), CARGOHOLD_CACHE_DIR=str(home / "cache"))


@contextlib.contextmanager
def private_cargohold(where: Path) -> Iterator[Path]:
    """A registry home, cache and key folder under ``where`` for this process and every one it starts; the home."""
    names = ("CARGOHOLD_HOME", "CARGOHOLD_CACHE_DIR", "CARGOHOLD_CONFIG_DIR")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: str(where / name.lower()) for name in names})
    try:
        yield where / "cargohold_home"
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
