"""The progress lines `cargohold fs` prints into a log, with every worker thread of a transfer reporting."""

from __future__ import annotations

import re
import sys
import threading

import pytest

from cargohold.cli.fs import _Lines

THREADS, FILES = 8, 300


def test_lines_from_many_threads_count_up_in_order(capfd: pytest.CaptureFixture[str]) -> None:
    lines = _Lines(every=0)
    lines.start(THREADS * FILES, 0)
    start = threading.Barrier(THREADS)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # hand the GIL over as often as it can go: the race shows in a few hundred lines

    def report() -> None:
        start.wait()
        for _ in range(FILES):
            lines.done("f")

    try:
        workers = [threading.Thread(target=report) for _ in range(THREADS)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(switch)
    counts = [int(m.group(1)) for m in re.finditer(r"^(\d+)/\d+ files", capfd.readouterr().err, re.MULTILINE)]
    assert counts == list(range(1, THREADS * FILES + 1))  # one line per file, never one printed out of turn
