"""``UploadRecord``: a writer's upload is given to another writer of its destination only once its process is dead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cargohold.plugin import UploadRecord

DESTINATION = ("http://127.0.0.1:9", "bucket", "big.bin")


def _die_recording(upload_id: str, *destination: str) -> None:
    """Record ``upload_id`` in a process that then ends without dropping it, as a killed writer does."""
    recording = "import sys; from cargohold.plugin import UploadRecord; UploadRecord(*sys.argv[2:]).keep(sys.argv[1])"
    subprocess.run([sys.executable, "-c", recording, upload_id, *destination], check=True)


def _records() -> list[Path]:
    return sorted((Path(os.environ["CARGOHOLD_CACHE_DIR"]) / "uploads").iterdir())


def test_a_live_writers_upload_is_given_to_no_one_and_its_record_goes_with_it() -> None:
    live = UploadRecord(*DESTINATION)
    live.keep("live")
    assert UploadRecord(*DESTINATION).dead() == set()
    live.drop()
    assert _records() == []


def test_a_dead_writers_upload_is_given_to_one_writer_at_a_time_and_only_of_its_destination() -> None:
    _die_recording("dead", *DESTINATION)
    assert UploadRecord(*DESTINATION[:2], "other.bin").dead() == set()
    taker = UploadRecord(*DESTINATION)
    assert taker.dead() == {"dead"}
    assert UploadRecord(*DESTINATION).dead() == set()  # the taker holds it now
    taker.keep("dead")
    assert UploadRecord(*DESTINATION).dead() == set()
    taker.drop()
    assert _records() == []


def test_the_dead_records_a_writer_does_not_keep_are_removed() -> None:
    _die_recording("older", *DESTINATION)
    _die_recording("newer", *DESTINATION)
    taker = UploadRecord(*DESTINATION)
    assert taker.dead() == {"older", "newer"}
    taker.keep("new")  # neither was still on the service
    assert [path.read_text() for path in _records()] == ["new"]
    assert UploadRecord(*DESTINATION).dead() == set()
    taker.drop()
    assert _records() == []


def test_live_names_the_uploads_running_writers_hold_and_no_dead_ones() -> None:
    """What cleanup leaves alone: a dead writer's upload is not live, a running one's is until it lets go."""
    _die_recording("dead", *DESTINATION)
    running = UploadRecord(*DESTINATION)
    running.keep("running")
    assert UploadRecord(*DESTINATION).live() == {"running"}
    running.drop()
    assert UploadRecord(*DESTINATION).live() == set()
