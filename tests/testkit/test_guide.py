"""docs/writing-a-flavor.md cannot rot: every code block runs, in order, in an empty folder and a fresh venv.

A block whose first line is ``# file: PATH`` is written to PATH; ``# in: PATH`` must be the whole of PATH,
byte for byte (what the scaffold wrote); any other bash or python block is run verbatim, and must succeed.
The folder holds what a reader has after ``git clone``: a checkout of cargohold named ``cargohold``.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from venvs import CORE, REPO, make_venv

GUIDE = REPO / "docs" / "writing-a-flavor.md"
TESTKIT = REPO / "packages" / "testkit"
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    """(language, code) of each fenced block, in order."""
    return [(match[1], match[2]) for match in _BLOCK.finditer(GUIDE.read_text())]


def test_every_block_is_run_written_or_checked() -> None:
    found = blocks()
    assert len(found) > 10
    for language, code in found:
        marked = code.startswith(("# file: ", "# in: "))
        assert marked or language in ("bash", "python"), f"a {language or 'plain'} block is never run:\n{code}"


def test_the_readme_links_the_guide() -> None:
    assert "(docs/writing-a-flavor.md)" in (REPO / "README.md").read_text()


def test_every_block_runs(tmp_path: Path, cargohold_home: Path) -> None:
    python = make_venv(tmp_path / "venv", CORE, TESTKIT, "pytest>=8", "pip")
    work = tmp_path / "work"
    work.mkdir()
    (work / "cargohold").symlink_to(REPO, target_is_directory=True)
    env = {
        **os.environ,
        "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(python.parent.parent),
        "CARGOHOLD_HOME": str(cargohold_home),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("PYTHONPATH", None)
    for number, (language, code) in enumerate(blocks(), 1):
        first, _, rest = code.partition("\n")
        where = f"block {number} of {GUIDE.name} ({first!r})"
        if first.startswith("# in: "):
            assert rest == (work / first.removeprefix("# in: ")).read_text(), f"{where} is not that whole file"
        elif first.startswith("# file: "):
            target = work / first.removeprefix("# file: ")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rest)
        else:
            command = ["bash", "-euo", "pipefail", "-c", code] if language == "bash" else [str(python), "-c", code]
            result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                pytest.fail(f"{where} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
