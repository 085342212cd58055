"""P5 and P6: moving bytes through stores, against the raw fsspec filesystems they are built on."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from clouds import CLOUDS, KINDS, Place, place, register
from harness import (
    RESULTS,
    ROOT,
    Figure,
    NotAvailableError,
    Result,
    alternate,
    faster_by,
    for_scale,
    missing,
    quiet_env,
    run_timed,
    scratch,
    script,
    slower_by,
)

from cargohold.artifact_stores.fsspec_store import FsspecArtifactStore

MB = 1 << 20
BIG = 200 * MB
CHUNK = 8 * MB
#: The block the gcs store writes and reads in (gcsfs's default is 5 MiB): P5's raw gcsfs gets the same.
GCS_BLOCK = 16 * MB
P5_ROUNDS = {"local": 15, "s3": 7, "gcs": 7, "azure": 9}  # local is quick; Azurite is the noisiest
SMALL_FILES = 1000
SMALL_SIZE = 16 << 10
P6_ROUNDS = 11
#: Through the proxy a put_file loop of the small files takes half a minute: fewer rounds of it.
P6_ROUNDS_FAR = 5
P6_CEILING_ROUNDS = 3
#: What the proxy holds each chunk for, each way, between the small files' clients and the emulator.
P6_DELAY = 0.010
#: The ``--jobs`` of P6's chart, each timed ``CHART_ROUNDS`` times.
CHART_JOBS = (1, 4, 16, 64)
CHART_ROUNDS = 3
CHART = RESULTS / "P6-jobs.png"
#: The baseline of P6: the raw filesystem's put_file, one file after another, in a process of its own;
#: with "concurrent", the library's own concurrent upload of the folder (``fs.put``), for the info row.
PUT_LOOP = """
import importlib, json, os, sys
module, _, name = sys.argv[1].partition(":")
fs = getattr(importlib.import_module(module), name)(**json.loads(sys.argv[2]), skip_instance_cache=True)
source, target = sys.argv[3], sys.argv[4]
if sys.argv[5:] == ["concurrent"]:
    fs.put(source + "/", target + "/", recursive=True)
elif os.path.isdir(source):
    for entry in sorted(os.listdir(source)):
        fs.put_file(os.path.join(source, entry), target + "/" + entry)
else:
    fs.put_file(source, target)
"""


def _chunk() -> bytes:
    return os.urandom(CHUNK)


def _roundtrip(opener: Callable[[str, str], IO[Any]], path: str, chunk: bytes) -> float:
    """Seconds to write ``BIG`` bytes to a new file in chunks, then read them back in chunks."""
    start = time.perf_counter()
    with opener(path, "wb") as f:
        for _ in range(BIG // CHUNK):
            f.write(chunk)
    with opener(path, "rb") as f:
        while f.read(CHUNK):
            pass
    return time.perf_counter() - start


def _raw_open(where: Place, path: str, mode: str) -> IO[Any]:
    """The raw filesystem's open, set as the store sets its own: like with like, so that P5 measures the store
    and not a block size. gcs writes in ``GCS_BLOCK``; reads take the store's read policy."""
    store = where.store
    options: dict[str, Any] = {"block_size": GCS_BLOCK} if where.flavor == "gcs" else {}
    if "r" in mode and isinstance(store, FsspecArtifactStore):
        options = {"block_size": store.read_block_size, "cache_type": store.read_cache_type}
    return cast(IO[Any], where.raw.open(path, mode, **options))


def _p5_flavor(flavor: str, workdir: Path, chunk: bytes) -> Figure:
    measure = f"{flavor}: {BIG // MB} MB written then read, store against raw {KINDS[flavor].filesystem}"
    try:
        with place(flavor, workdir, "p5") as where:
            count = itertools.count()

            def through_store() -> float:
                name = f"store-{next(count)}.bin"
                elapsed = _roundtrip(where.store.open, name, chunk)
                where.store.remove(name)
                return elapsed

            def raw() -> float:
                path = f"{where.raw_root}/raw-{next(count)}.bin"
                elapsed = _roundtrip(functools.partial(_raw_open, where), path, chunk)
                where.raw.rm_file(path)
                return elapsed

            paired = alternate(through_store, raw, P5_ROUNDS[flavor])
    except NotAvailableError as exc:
        return missing(measure, "<= 1.03x", str(exc))
    return slower_by(measure, paired.ours_median, paired.baseline_median, paired.ratio, at_most=1.03, unit="s")


def p5() -> Result:
    """One big file through each store and through its raw filesystem, in the same process."""
    chunk = _chunk()
    with scratch("p5") as workdir:
        figures = [_p5_flavor(flavor, workdir, chunk) for flavor in ("local", *CLOUDS)]
    return Result(
        "P5",
        f"one {BIG // MB} MB file written and read through each store, against the raw fsspec filesystem",
        f"in one process; {CHUNK // MB} MB writes and reads (gcs writes in {GCS_BLOCK // MB} MB blocks on both "
        "sides; the raw filesystem reads with the store's read block and cache type); "
        "a new file each trial, deleted after it; cloud flavors "
        "on their emulators (moto, fake-gcs-server, Azurite) on loopback, local on tmpfs; alternating rounds "
        f"({', '.join(f'{k} {v}' for k, v in P5_ROUNDS.items())}); ratio = median of per-round ratios",
        figures,
    )


def _cli_trial(
    where: Place,
    env: Mapping[str, str],
    name: str,
    source: Path,
    suffix: str,
    *options: str,
    peaks: list[int] | None = None,
) -> Callable[[], float]:
    """One `cargohold fs cp` of ``source`` into the store registered as ``name``; with ``peaks``, it appends the
    most requests that were in flight at once through the place's proxy."""
    count = itertools.count()

    def trial() -> float:
        if where.proxy is not None:
            where.proxy.reset()
        argv = [script("cargohold"), "fs", "cp", "-q", "-r", *options, f"{source}/" if source.is_dir() else str(source)]
        elapsed = run_timed([*argv, f"{name}:ours-{next(count)}{suffix}"], env)
        if where.proxy is not None and peaks is not None:
            peaks.append(where.proxy.peak_in_flight)
        where.clear()
        return elapsed

    return trial


def _loop_trial(where: Place, env: Mapping[str, str], source: Path, suffix: str, *mode: str) -> Callable[[], float]:
    """The raw filesystem's put_file loop (with ``"concurrent"``, its own ``fs.put``) in a process of its own."""
    count = itertools.count()

    def trial() -> float:
        target = f"{where.raw_root}/raw-{next(count)}{suffix}"
        options = json.dumps(dict(where.options))
        argv = [sys.executable, "-c", PUT_LOOP, KINDS[where.flavor].filesystem, options, str(source), target]
        elapsed = run_timed([*argv, *mode], env)
        where.clear()
        return elapsed

    return trial


@dataclass(frozen=True)
class _Curve:
    """One cloud's files a second through the proxy, by ``--jobs``, and the put_file loop's for scale."""

    by_jobs: dict[int, float]
    loop: float


def _p6_many(flavor: str, workdir: Path, env: Mapping[str, str], small: Path) -> tuple[list[Figure], _Curve | None]:
    """The small files, through a proxy that holds each chunk ``P6_DELAY`` each way: cp -r against the loop, the
    library's own concurrency against the loop, and cp -r at each of ``CHART_JOBS``."""
    delay = f"{P6_DELAY * 1000:g} ms"
    many = f"{flavor}: {SMALL_FILES} x {SMALL_SIZE >> 10} KB by `cargohold fs cp -r`, against a put_file loop"
    ceiling = f"{flavor}: the same files by the raw filesystem's own concurrent `put`, against the put_file loop"
    chart = f"{flavor}: files a second by `cargohold fs cp -r --jobs {', '.join(map(str, CHART_JOBS))}`"
    try:
        with place(flavor, workdir, "p6-many", delay=P6_DELAY) as where:
            name = f"far-{flavor}"
            register(env, name, where)
            peaks: list[int] = []
            files = alternate(
                _cli_trial(where, env, name, small, "", peaks=peaks), _loop_trial(where, env, small, ""), P6_ROUNDS_FAR
            )
            own = alternate(
                _loop_trial(where, env, small, "", "concurrent"), _loop_trial(where, env, small, ""), P6_CEILING_ROUNDS
            )
            trials = {jobs: _cli_trial(where, env, name, small, "", "--jobs", str(jobs)) for jobs in CHART_JOBS}
            timings: dict[int, list[float]] = {jobs: [] for jobs in CHART_JOBS}
            for round_ in range(CHART_ROUNDS):  # each round starts one --jobs further on
                for jobs in CHART_JOBS[round_ % len(CHART_JOBS) :] + CHART_JOBS[: round_ % len(CHART_JOBS)]:
                    timings[jobs].append(trials[jobs]())
    except NotAvailableError as exc:
        return [missing(m, t, str(exc)) for m, t in ((many, ">= 5x"), (ceiling, "-"), (chart, "-"))], None
    curve = _Curve(
        {jobs: SMALL_FILES / statistics.median(t) for jobs, t in timings.items()}, SMALL_FILES / files.baseline_median
    )
    figure = faster_by(many, files.ours_median, files.baseline_median, 1 / files.ratio, at_least=5, unit="s")
    note = f"both through a proxy holding each chunk {delay} each way; cp's peak: {max(peaks)} requests in flight"
    return [
        dataclasses.replace(figure, note=note),
        for_scale(
            ceiling, own.ours_median, own.baseline_median, 1 / own.ratio, f"both through the {delay} proxy", unit="s"
        ),
        Figure(
            chart,
            " / ".join(f"{curve.by_jobs[jobs]:.0f}" for jobs in CHART_JOBS),
            f"{curve.loop:.0f} by the put_file loop",
            None,
            "-",
            "info",
            f"through the {delay} proxy; drawn in {CHART.relative_to(ROOT)}",
        ),
    ], curve


def _p6_one(flavor: str, workdir: Path, env: Mapping[str, str], big: Path) -> Figure:
    """The big file, on the emulator directly: streaming it must not lose to the raw put_file."""
    one = f"{flavor}: one {BIG // MB} MB file by `cargohold fs cp`, against put_file"
    try:
        with place(flavor, workdir, "p6") as where:
            name = f"bench-{flavor}"
            register(env, name, where)
            stream = alternate(
                _cli_trial(where, env, name, big, ".bin"), _loop_trial(where, env, big, ".bin"), P6_ROUNDS
            )
    except NotAvailableError as exc:
        return missing(one, ">= 0.95x", str(exc))
    return faster_by(one, stream.ours_median, stream.baseline_median, 1 / stream.ratio, at_least=0.95, unit="s")


def _draw(curves: dict[str, _Curve]) -> None:
    """P6's chart: files a second against ``--jobs`` for each cloud, the put_file loop dashed beneath."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.2))
    for flavor, curve in curves.items():
        (line,) = axes.plot(CHART_JOBS, [curve.by_jobs[jobs] for jobs in CHART_JOBS], marker="o", label=flavor)
        axes.axhline(curve.loop, color=line.get_color(), linestyle="--", linewidth=1, label=f"{flavor}: put_file loop")
    axes.set_xscale("log", base=2)
    axes.set_xticks(CHART_JOBS, [str(jobs) for jobs in CHART_JOBS])
    axes.set_ylim(bottom=0)
    axes.set_xlabel("--jobs")
    axes.set_ylabel("files a second (whole process, start included)")
    axes.set_title(
        f"cargohold fs cp -r of {SMALL_FILES} x {SMALL_SIZE >> 10} KB, {P6_DELAY * 1000:g} ms each way",
        fontsize=10,
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8, ncols=2)
    figure.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(CHART, dpi=100)
    pyplot.close(figure)


def p6() -> Result:
    """Many small files through a network's delay and one big file directly, into each cloud emulator, by the CLI
    and by a raw loop; and the chart of files a second by ``--jobs``."""
    chunk = _chunk()
    with scratch("p6") as workdir:
        small = workdir / "small"
        small.mkdir()
        for i in range(SMALL_FILES):
            (small / f"{i:04d}.bin").write_bytes(chunk[i * SMALL_SIZE % (CHUNK - SMALL_SIZE) :][:SMALL_SIZE])
        big = workdir / "big.bin"
        with big.open("wb") as f:
            for _ in range(BIG // CHUNK):
                f.write(chunk)
        env = quiet_env(workdir / "home")
        figures: list[Figure] = []
        curves: dict[str, _Curve] = {}
        for flavor in CLOUDS:
            rows, curve = _p6_many(flavor, workdir, env, small)
            figures += [*rows, _p6_one(flavor, workdir, env, big)]
            if curve is not None:
                curves[flavor] = curve
    if curves:
        _draw(curves)
    delay = f"{P6_DELAY * 1000:g} ms"
    return Result(
        "P6",
        f"`cargohold fs cp` into each cloud emulator: {SMALL_FILES} small files through a {delay} network, "
        f"and one {BIG // MB} MB file",
        "wall time of whole processes on both sides: the CLI with a store registered in a private "
        "CARGOHOLD_HOME, against `python -c` running the raw filesystem's put_file sequentially; sources "
        "on tmpfs, emulators on loopback; the small files go through the kit's LatencyProxy, which holds each "
        f"chunk {delay} each way (as a network in one region would), on both sides; {P6_ROUNDS_FAR} alternating "
        f"rounds for them, {P6_ROUNDS} for the big file (direct), everything uploaded removed after each trial; "
        "ratio = baseline over ours (speed-up), median of per-round ratios; the info rows pit the raw "
        f"filesystem's own concurrent fs.put against the loop ({P6_CEILING_ROUNDS} rounds), and give files a "
        f"second by --jobs (median of {CHART_ROUNDS} rounds each), drawn in {CHART.relative_to(ROOT)}",
        figures,
    )
