"""P3 and P4: the local store against the builtins, on tmpfs, so the store's own overhead is what shows."""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Callable
from pathlib import Path

from harness import Paired, Result, alternate, cpu_time, scratch, slower_by

from cargohold_local.flavor import LocalArtifactStoreFlavor
from cargohold_local.store import LocalArtifactStore

P3_FILES = 2000
P3_SIZE = 4096
P3_ROUNDS = 21
P4_FOLDERS = 100
P4_PER_FOLDER = 100
P4_ROUNDS = 31
#: Listings are quick; each trial repeats them so one trial is long enough to time well.
P4_REPEAT = 5


def _store(root: Path) -> LocalArtifactStore:
    store = LocalArtifactStoreFlavor().build({"path": str(root)}, name="bench")
    assert isinstance(store, LocalArtifactStore)
    return store


def p3() -> Result:
    """Small files written then read back: every file is new, in a fresh folder, on both sides."""
    payload = os.urandom(P3_SIZE)
    names = [f"{i:05d}.bin" for i in range(P3_FILES)]

    def through_store() -> float:
        with scratch("p3-store") as where:
            store = _store(where / "root")  # the sandbox is always on; its root fd opens on first use
            start = cpu_time()
            for name in names:
                with store.open(name, "wb") as f:
                    f.write(payload)
            for name in names:
                with store.open(name, "rb") as f:
                    f.read()
            return cpu_time() - start

    def builtin() -> float:
        with scratch("p3-builtin") as where:
            root = where / "root"
            root.mkdir()
            paths = [os.path.join(root, name) for name in names]  # joined outside the clock: the strict baseline
            start = cpu_time()
            for path in paths:
                with open(path, "wb") as f:
                    f.write(payload)
            for path in paths:
                with open(path, "rb") as f:
                    f.read()
            return cpu_time() - start

    paired = alternate(through_store, builtin, P3_ROUNDS)
    figure = slower_by(
        f"{P3_FILES} x {P3_SIZE // 1024} KB new files written, then read back",
        paired.ours_median,
        paired.baseline_median,
        paired.ratio,
        at_most=1.3,
    )
    low, high = paired.spread
    figure = dataclasses.replace(figure, note=f"per-round ratios {low:.2f}-{high:.2f}x; judged on the median")
    return Result(
        "P3",
        "local store: small files written and read back, against builtin open",
        f"CPU time on tmpfs; store.open(name, 'wb'/'rb') with relative names and the sandbox on, against open() on "
        f"absolute paths joined in advance; {P3_ROUNDS} alternating rounds, each in a fresh folder; "
        "ratio = median of per-round ratios",
        [figure],
    )


def p4() -> Result:
    """Listings over one tree of 10,000 files in 100 folders, through the store and through os and glob."""
    with scratch("p4") as where:
        root = where / "root"
        folders = [f"d{i:03d}" for i in range(P4_FOLDERS)]
        for folder in folders:
            (root / folder).mkdir(parents=True)
            for j in range(P4_PER_FOLDER):
                (root / folder / f"f{j:03d}.bin").write_bytes(b"")
        store = _store(root)
        absolute = [os.path.join(root, folder) for folder in folders]
        pattern = os.path.join(root, "**", "*.bin")

        def timed(work: Callable[[], object]) -> float:
            start = cpu_time()
            for _ in range(P4_REPEAT):
                work()
            return cpu_time() - start

        pairs: dict[str, Paired] = {
            "listdir of each folder": alternate(
                lambda: timed(lambda: [store.listdir(f) for f in folders]),
                lambda: timed(lambda: [os.listdir(f) for f in absolute]),
                P4_ROUNDS,
            ),
            "walk of the whole tree": alternate(
                lambda: timed(lambda: list(store.walk(""))),
                lambda: timed(lambda: list(os.walk(root))),
                P4_ROUNDS,
            ),
            "glob **/*.bin": alternate(
                lambda: timed(lambda: store.glob("**/*.bin")),
                lambda: timed(lambda: glob.glob(pattern, recursive=True)),
                P4_ROUNDS,
            ),
        }
    figures = [
        slower_by(
            f"{label}, {P4_FOLDERS * P4_PER_FOLDER} files in {P4_FOLDERS} folders",
            paired.ours_median / P4_REPEAT,
            paired.baseline_median / P4_REPEAT,
            paired.ratio,
            at_most=1.2,
        )
        for label, paired in pairs.items()
    ]
    return Result(
        "P4",
        "local store: listdir, walk and glob, against os.listdir, os.walk and glob.glob",
        f"CPU time on tmpfs; one tree built once; each trial repeats the listing {P4_REPEAT} times; "
        f"{P4_ROUNDS} alternating rounds; the store returns sorted results (its contract), the builtins do not; "
        "ratio = median of per-round ratios",
        figures,
    )
