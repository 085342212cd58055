"""R3 and R4: first fileio calls from many threads and processes at once, and each flavor's deadline against a
server that hangs and a port that is closed, at full size and at the default deadline (tests/reliability runs
them scaled down, with a 1 s deadline)."""

from __future__ import annotations

import contextlib
import time
import uuid

from endpoint_stores import CONFIGS, store_on
from first_calls import first_calls
from harness import Figure, Result, private_cargohold, scratch
from moto_bucket import s3_with_bucket

PROCESSES = 8
THREADS = 16
BUCKET = "cargohold-bench-r3"
#: What the issue allows on top of the deadline.
MARGIN = 2.0


def r3() -> Result:
    from cargohold.client import Client

    with (
        scratch("r3") as where,
        private_cargohold(where),
        contextlib.contextmanager(s3_with_bucket)(where / "moto", BUCKET) as server,
    ):
        root = f"s3://{BUCKET}/{uuid.uuid4().hex}"
        client = Client()
        config = {"path": root, "endpoint_url": server.endpoint, "key": "testing", "secret": "testing"}
        client.register_component("artifact_store", "reliable", "s3", config)
        client.register_stack("reliable", {"artifact_store": "reliable"}, activate=True)
        started = time.perf_counter()
        errors = first_calls(root, PROCESSES, THREADS, where)
        wall = time.perf_counter() - started
    writes = PROCESSES * THREADS
    figure = Figure(
        f"{PROCESSES} new processes x {THREADS} threads: first fileio writes to a registered s3 store on moto",
        f"{len(errors)} failed or misrouted of {writes}",
        "-",
        None,
        "0 failed or misrouted",
        "pass" if not errors else "miss",
        f"{wall:.1f} s for all, process starts included",
    )
    method = "Each process new, so every write is a first call; decoy AWS credentials in their environment."
    return Result("R3", "concurrent first fileio calls", method, [figure])


def r4() -> Result:
    from cargohold_testkit.servers import HungServer, closed_port

    figures = []
    for flavor in sorted(CONFIGS):
        for kind in ("hung server", "closed port"):
            with HungServer() as hung:
                store = store_on(flavor, hung.endpoint if kind == "hung server" else closed_port())
                deadline = float(store.config.deadline)
                assert store.filesystem is not None  # built, its library imported, before the clock starts
                started = time.perf_counter()
                try:
                    store.exists("dir")
                    raised = "nothing"
                except OSError as exc:
                    raised = type(exc).__name__
                took = time.perf_counter() - started
            figures.append(
                Figure(
                    f"{flavor}: `exists` against a {kind}, default deadline",
                    f"{took:.1f} s, {raised}",
                    f"deadline {deadline:g} s",
                    took / deadline,
                    f"<= {deadline + MARGIN:g} s",
                    "pass" if took <= deadline + MARGIN and raised != "nothing" else "miss",
                )
            )
    method = "One store per flavor with its default config, its libraries imported before the clock starts."
    return Result("R4", "deadlines against hung and closed servers", method, figures)
