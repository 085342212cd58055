"""P5 and P6: moving bytes through stores, against the raw fsspec filesystems they are built on."""

from __future__ import annotations

import functools
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

from clouds import CLOUDS, KINDS, Place, place, register
from harness import (
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
P6_CEILING_ROUNDS = 5
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


def _p6_flavor(flavor: str, workdir: Path, home: Path, small: Path, big: Path) -> list[Figure]:
    many = f"{flavor}: {SMALL_FILES} x {SMALL_SIZE >> 10} KB by `cargohold fs cp -r`, against a put_file loop"
    one = f"{flavor}: one {BIG // MB} MB file by `cargohold fs cp`, against put_file"
    try:
        cargohold = script("cargohold")
        with place(flavor, workdir, "p6") as where:
            env = quiet_env(home)
            name = f"bench-{flavor}"
            register(env, name, where)
            count = itertools.count()

            def ours(source: Path, suffix: str) -> Callable[[], float]:
                def trial() -> float:
                    argv = [cargohold, "fs", "cp", "-q", "-r", f"{source}/" if source.is_dir() else str(source)]
                    elapsed = run_timed([*argv, f"{name}:ours-{next(count)}{suffix}"], env)
                    where.clear()
                    return elapsed

                return trial

            def raw(source: Path, suffix: str, *mode: str) -> Callable[[], float]:
                def trial() -> float:
                    target = f"{where.raw_root}/raw-{next(count)}{suffix}"
                    options = json.dumps(dict(where.options))
                    argv = [sys.executable, "-c", PUT_LOOP, KINDS[flavor].filesystem, options, str(source), target]
                    elapsed = run_timed([*argv, *mode], env)
                    where.clear()
                    return elapsed

                return trial

            files = alternate(ours(small, ""), raw(small, ""), P6_ROUNDS)
            stream = alternate(ours(big, ".bin"), raw(big, ".bin"), P6_ROUNDS)
            ceiling = alternate(raw(small, "", "concurrent"), raw(small, ""), P6_CEILING_ROUNDS)
    except NotAvailableError as exc:
        return [missing(many, ">= 5x", str(exc)), missing(one, ">= 0.95x", str(exc))]
    return [
        faster_by(many, files.ours_median, files.baseline_median, 1 / files.ratio, at_least=5, unit="s"),
        for_scale(
            f"{flavor}: the same files by the raw filesystem's own concurrent `put`, against the put_file loop",
            ceiling.ours_median,
            ceiling.baseline_median,
            1 / ceiling.ratio,
            "what the library itself reaches against this emulator on this machine",
            unit="s",
        ),
        faster_by(one, stream.ours_median, stream.baseline_median, 1 / stream.ratio, at_least=0.95, unit="s"),
    ]


def p6() -> Result:
    """Many small files and one big one into each cloud emulator, by the CLI and by a raw loop."""
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
        figures = [fig for flavor in CLOUDS for fig in _p6_flavor(flavor, workdir, workdir / "home", small, big)]
    return Result(
        "P6",
        f"`cargohold fs cp` into each cloud emulator: {SMALL_FILES} small files, and one {BIG // MB} MB file",
        "wall time of whole processes on both sides: the CLI with a store registered in a private "
        "CARGOHOLD_HOME, against `python -c` running the raw filesystem's put_file sequentially; sources "
        f"on tmpfs, emulators on loopback; {P6_ROUNDS} alternating rounds, everything uploaded removed after "
        "each trial; ratio = baseline over ours (speed-up), median of per-round ratios; the info rows pit "
        f"the raw filesystem's own concurrent fs.put against the loop ({P6_CEILING_ROUNDS} rounds)",
        figures,
    )
