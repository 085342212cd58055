"""P7: discovery must grow gently with the number of installed plugins: 200 against 4."""

from __future__ import annotations

import subprocess
from pathlib import Path

from harness import Result, alternate, child_env, scratch, slower_by
from venvs import CORE, LOCAL, flavor_source, make_venv, write_plugin

MANY = 200
FEW = 4
P7_ROUNDS = 15
#: Times discovery alone, in a fresh process that has already imported the discovery module.
CHILD = (
    "import time\n"
    "from cargohold.plugins import get_flavor_registry\n"
    "start = time.perf_counter()\n"
    "registry = get_flavor_registry()\n"
    "elapsed = time.perf_counter() - start\n"
    "assert not registry.errors, registry.errors\n"
    "print(elapsed, len(registry))\n"
)


def _discover(python: Path, expected: int) -> float:
    argv = [str(python), "-c", CHILD]
    out = subprocess.run(argv, env=child_env(), capture_output=True, text=True, check=True).stdout.split()
    if int(out[1]) != expected:
        raise RuntimeError(f"{python} found {out[1]} flavors, not {expected}")
    return float(out[0])


def p7() -> Result:
    """Two fresh venvs, one with the local plugin and 199 generated ones, one with local and 3."""
    with scratch("p7") as where:
        dists = [
            write_plugin(where / "src", f"cargohold-bench-{i:03d}", f"bench_plugin_{i:03d}", flavor_source(f"b{i:03d}"))
            for i in range(MANY - 1)
        ]
        few = make_venv(where / "few", CORE, LOCAL, *dists[: FEW - 1])
        many = make_venv(where / "many", CORE, LOCAL, *dists)
        _discover(few, FEW)  # first runs compile bytecode; they are not counted
        _discover(many, MANY)
        paired = alternate(lambda: _discover(many, MANY), lambda: _discover(few, FEW), P7_ROUNDS)
    figure = slower_by(
        f"discovery with {MANY} plugin distributions, against {FEW}",
        paired.ours_median,
        paired.baseline_median,
        paired.ratio,
        at_most=2.0,
    )
    return Result(
        "P7",
        f"discovery with {MANY} small plugin distributions installed, against {FEW}",
        f"two fresh venvs (uv) with core, the local plugin and {MANY - 1} or {FEW - 1} generated one-flavor plugins; "
        "time of get_flavor_registry() in a fresh process that has imported cargohold.plugins; "
        f"{P7_ROUNDS} alternating rounds after one uncounted run each; ratio = median of per-round ratios",
        [figure],
    )
