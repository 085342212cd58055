"""`cargohold fs` as a user runs it, for the CLI tests of every flavor: the installed command in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = [str(Path(sys.executable).with_name("cargohold"))]


def fs(
    *args: str, check: bool = True, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``cargohold fs ARGS`` and return what it did; by default it must succeed."""
    done = subprocess.run([*CLI, "fs", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False)
    if check:
        assert done.returncode == 0, f"cargohold fs {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def tree(top: Path) -> dict[str, bytes]:
    """Every file below ``top`` by relative path, with its bytes."""
    return {str(p.relative_to(top)): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()}
