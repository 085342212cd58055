"""With every flavor installed, listing and describing flavors import no heavy library and touch nothing but a cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("s3fs", "gcsfs", "adlfs", "boto3", "botocore", "aiobotocore", "google", "azure", "fsspec")


LISTING = """
import json, socket, sys
def refuse(*args, **kwargs):
    raise AssertionError("network use")
socket.socket.connect = refuse
socket.create_connection = refuse
from cargohold.cli import main
from cargohold.plugins import get_flavor_registry
describe = [["flavor", "describe", name, "--json"] for _, name in get_flavor_registry()]
for args in (["flavor", "list", "--json"], ["plugins", "--json"], *describe):
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code == 0, exc.code
print(json.dumps(sorted(m for m in {heavy} + ("rich",) if m in sys.modules)), file=sys.stderr)
"""


def test_listing_and_describing_import_no_heavy_library_and_write_nothing_but_the_cache(tmp_path: Path) -> None:
    home, cache = tmp_path / "home", tmp_path / "cache"
    for _ in range(2):  # the first run finds the plugins by importing them, the second from the cache
        result = subprocess.run(
            [sys.executable, "-c", LISTING.format(heavy=HEAVY)],
            capture_output=True,
            text=True,
            env={"CARGOHOLD_HOME": str(home), "CARGOHOLD_CACHE_DIR": str(cache), "PATH": "/usr/bin:/bin"},
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stderr.splitlines()[-1]) == []
        assert not home.exists()
        assert [p.name.startswith("plugins-") for p in cache.iterdir()] == [True]
