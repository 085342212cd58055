"""P1 and P2: what a command costs before it does anything, with every installed plugin found."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness import Figure, Result, alternate, for_scale, missing, quiet_env, run_timed, scratch, script, slower_by

P1_ROUNDS = 21
#: Top-level packages that listing, describing and registering must never import (issue 7, P2).
HEAVY = ("s3fs", "botocore", "aiobotocore", "gcsfs", "google", "adlfs", "azure")


def _flavors(env: dict[str, str]) -> list[tuple[str, list[str], bool]]:
    """(name, URL schemes, whether its config names a credentials source) of every installed artifact store
    flavor, found by a child process."""
    code = (
        "import json\n"
        "from cargohold.plugins import get_flavor_registry\n"
        "print(json.dumps([[n, sorted(c.SUPPORTED_SCHEMES), 'credentials' in c.model_fields]\n"
        "                  for (t, n), f in get_flavor_registry().items() if t == 'artifact_store'\n"
        "                  for c in [f.config_class]]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    return [(name, schemes, credentials) for name, schemes, credentials in json.loads(out)]


def p1() -> Result:
    """A cold ``cargohold flavor list`` against the imports any pydantic + pluggy tool pays anyway."""
    cargohold = script("cargohold")
    with scratch("p1") as home:
        env = quiet_env(home)
        flavors = _flavors(env)
        ours = [cargohold, "flavor", "list"]
        baseline = [sys.executable, "-c", "import pydantic, pluggy"]
        run_timed(ours, env)  # the first run may compile bytecode and fills the plugin cache; it is not counted
        run_timed(baseline, env)
        paired = alternate(lambda: run_timed(ours, env), lambda: run_timed(baseline, env), P1_ROUNDS)
        fresh = {**env, "CARGOHOLD_NO_PLUGIN_CACHE": "1"}
        first = alternate(lambda: run_timed(ours, fresh), lambda: run_timed(baseline, fresh), P1_ROUNDS)
    names = ", ".join(name for name, *_ in flavors)
    title = f"`cargohold flavor list`, cold, {len(flavors)} flavors installed ({names})"
    return Result(
        "P1",
        "cold `cargohold flavor list`, against `python -c 'import pydantic, pluggy'`",
        f"wall time of whole processes, {P1_ROUNDS} alternating rounds after one uncounted warm-up each, "
        "median of each side; ratio = median of per-round ratios. The target row is every run after the first "
        "in an environment (discovery's findings are cached until anything is installed, removed or edited); "
        "the row for scale is the first run after an install. For scale (not measured here): ZenML 0.98's "
        "`zenml artifact-store flavor list` takes about 3.8 s on this kind of machine, `import zenml` 1.6 s",
        [
            slower_by(title, paired.ours_median, paired.baseline_median, paired.ratio, at_most=2.0),
            for_scale(
                f"{title}, first run after an install (no cache)",
                first.ours_median,
                first.baseline_median,
                first.ratio,
                "every plugin's flavor module imported",
            ),
        ],
    )


def _imported(argv: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
    """How many modules a command imported, and which of them are heavy (from ``-X importtime``)."""
    done = subprocess.run(
        argv, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    modules = [line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")]
    modules = modules[1:]  # the header line
    heavy = sorted({m for m in modules if m.split(".")[0] in HEAVY})
    return len(modules), heavy


def _absent(measure: str, count: int, heavy: list[str]) -> Figure:
    return Figure(
        measure,
        f"{len(heavy)} heavy of {count} modules",
        "-",
        None,
        "no heavy import",
        "miss" if heavy else "pass",
        ", ".join(heavy),
    )


def _store_path(schemes: list[str], home: Path) -> str:
    """A root of the flavor's own scheme; registering never contacts it."""
    scheme = schemes[-1]
    return f"{scheme}cargohold-bench/p2" if scheme else str(home / "p2-local")


def p2() -> Result:
    """The modules that listing, describing and registering import, with every plugin installed."""
    cargohold = script("cargohold")
    figures = []
    with scratch("p2") as home:
        env = {**quiet_env(home), "CARGOHOLD_NO_PLUGIN_CACHE": "1"}  # the worst case: every plugin imported
        flavors = _flavors(env)
        figures.append(_absent("`cargohold flavor list`", *_imported([cargohold, "flavor", "list"], env)))
        for name, *_ in flavors:
            argv = [cargohold, "flavor", "describe", name]
            figures.append(_absent(f"`cargohold flavor describe {name}`", *_imported(argv, env)))
        help_run = subprocess.run([cargohold, "artifact-store", "register", "--help"], env=env, capture_output=True)
        for name, schemes, credentials in flavors:
            measure = f"`cargohold artifact-store register --flavor {name}`"
            if help_run.returncode != 0:
                figures.append(missing(measure, "no heavy import", "no `artifact-store register` command yet"))
                continue
            argv = [cargohold, "artifact-store", "register", f"p2-{name}", "--flavor", name]
            argv += ["--path", _store_path(schemes, home)]
            if credentials:  # the cloud flavors: a new store names where its credentials come from
                argv.append("--credentials=environment")
            figures.append(_absent(measure, *_imported(argv, env)))
    return Result(
        "P2",
        "modules imported by `flavor list`, `flavor describe` and `artifact-store register`",
        "each command once in a fresh process with PYTHONPROFILEIMPORTTIME=1, a private CARGOHOLD_HOME and the "
        "plugin cache off (so every plugin's flavor module is imported); "
        f"a module counts as heavy when its top-level package is one of {', '.join(HEAVY)}",
        figures,
    )
