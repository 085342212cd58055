"""P7: discovery must grow gently with the number of installed plugins: 200 against 4."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from harness import Paired, Result, alternate, for_scale, quiet_env, scratch, slower_by
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


def _discover(python: Path, expected: int, env: Mapping[str, str]) -> float:
    argv = [str(python), "-c", CHILD]
    out = subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=True).stdout.split()
    if int(out[1]) != expected:
        raise RuntimeError(f"{python} found {out[1]} flavors, not {expected}")
    return float(out[0])


def _rounds(many: Path, few: Path, env: Mapping[str, str]) -> Paired:
    _discover(few, FEW, env)  # first runs compile bytecode and fill the cache; they are not counted
    _discover(many, MANY, env)
    return alternate(lambda: _discover(many, MANY, env), lambda: _discover(few, FEW, env), P7_ROUNDS)


def p7() -> Result:
    """Two fresh venvs, one with the local plugin and 199 generated ones, one with local and 3."""
    with scratch("p7") as where:
        dists = [
            write_plugin(where / "src", f"cargohold-bench-{i:03d}", f"bench_plugin_{i:03d}", flavor_source(f"b{i:03d}"))
            for i in range(MANY - 1)
        ]
        few = make_venv(where / "few", CORE, LOCAL, *dists[: FEW - 1])
        many = make_venv(where / "many", CORE, LOCAL, *dists)
        env = quiet_env(where / "home")
        warm = _rounds(many, few, env)
        cold = _rounds(many, few, {**env, "CARGOHOLD_NO_PLUGIN_CACHE": "1"})
    title = f"discovery with {MANY} plugin distributions, against {FEW}"
    return Result(
        "P7",
        f"discovery with {MANY} small plugin distributions installed, against {FEW}",
        f"two fresh venvs (uv) with core, the local plugin and {MANY - 1} or {FEW - 1} generated one-flavor plugins; "
        "time of get_flavor_registry() in a fresh process that has imported cargohold.plugins, as every process "
        "after the first sees it (what discovery found is cached per environment until anything is installed, "
        "removed or edited), and, for scale, with the cache turned off as the first process after an install "
        f"sees it; {P7_ROUNDS} alternating rounds after one uncounted run each; ratio = median of per-round ratios",
        [
            slower_by(title, warm.ours_median, warm.baseline_median, warm.ratio, at_most=2.0),
            for_scale(
                f"{title}, first process after an install (no cache)",
                cold.ours_median,
                cold.baseline_median,
                cold.ratio,
                "every plugin module imported",
            ),
        ],
    )
