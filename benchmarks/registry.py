"""R1 and R2: the registry under many writers at full size (tests/reliability runs them scaled down).

R1 runs the issue's 8 processes x 50 CLI chains (register, update, delete, register) against one registry
and reports errors and rows (the target), throughput and the p99 latency of one CLI call, beside the same
chains from one process alone. R2 has 8 processes increment one field 25 times each by read, then update
with the revision read, retrying on conflict: no update may be lost.
"""

from __future__ import annotations

import statistics
import time

from harness import Figure, Result, private_cargohold, scratch
from registry_load import COUNTER, increments, mixed_chains

PROCESSES = 8
CHAINS = 50
INCREMENTS = 25


def _chains(processes: int) -> tuple[int, int, float, list[float]]:
    """Errors, rows left, wall seconds and each call's seconds of ``processes`` x ``CHAINS`` chains."""
    from cargohold.client import Client

    with scratch("r1") as where, private_cargohold(where) as home:
        Client().stacks()  # the registry exists before the clock starts
        started = time.perf_counter()
        found = mixed_chains(home, processes, CHAINS)
        wall = time.perf_counter() - started
        rows = len(Client().components("artifact_store")) - 1  # the default store
    return len(found.failures), rows, wall, found.seconds


def _p99(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=100)[98]


def r1() -> Result:
    errors, rows, wall, seconds = _chains(PROCESSES)
    _, _, alone_wall, alone = _chains(1)
    expected = PROCESSES * CHAINS
    target = f"0 errors, {expected} rows"
    verdict = Figure(
        f"{PROCESSES} processes x {CHAINS} CLI chains (register, update, delete, register) on one registry",
        f"{errors} errors, {rows} rows",
        "-",
        None,
        target,
        "pass" if errors == 0 and rows == expected else "miss",
    )
    p99, alone_p99 = _p99(seconds), _p99(alone)
    load = Figure(
        f"the same: CLI calls per second and p99 latency, against {CHAINS} chains from one process",
        f"{len(seconds) / wall:.1f}/s, p99 {p99:.2f} s",
        f"{len(alone) / alone_wall:.1f}/s, p99 {alone_p99:.2f} s",
        p99 / alone_p99,
        "-",
        "info",
        f"ratio of p99 latencies; median call {statistics.median(seconds):.2f} s against "
        f"{statistics.median(alone):.2f} s",
    )
    method = (
        f"{PROCESSES} worker processes released at once, each running {CHAINS} chains of four "
        "`cargohold artifact-store` commands as subprocesses; each call timed from spawn to exit."
    )
    return Result("R1", "the registry under 8 x 50 mixed CLI chains", method, [verdict, load])


def r2() -> Result:
    from cargohold.client import Client

    with scratch("r2") as where, private_cargohold(where) as home:
        registered = Client().register_component("artifact_store", "counter", "s3", COUNTER)
        started = time.perf_counter()
        conflicts = increments(home, PROCESSES, INCREMENTS)
        wall = time.perf_counter() - started
        counter = Client().get_component("artifact_store", "counter")
    expected = COUNTER["retries"] + PROCESSES * INCREMENTS
    value = counter.config["retries"]
    figure = Figure(
        f"{PROCESSES} processes x {INCREMENTS} increments of one field, read then update(if_revision=)",
        f"final {value}, revision {counter.revision}",
        "-",
        None,
        f"final {expected}, no lost update",
        "pass" if value == expected and counter.revision == registered.revision + PROCESSES * INCREMENTS else "miss",
        f"{conflicts} conflicts caught and retried; {PROCESSES * INCREMENTS / wall:.1f} increments/s",
    )
    method = "Worker processes released at once; each conflict re-reads the component and tries again."
    return Result("R2", "no lost update under 8 x 25 increments", method, [figure])
