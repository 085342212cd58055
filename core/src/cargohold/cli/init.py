"""``cargohold init``: mark the repository root that custom flavors' dotted paths are imported from."""

from __future__ import annotations

from pathlib import Path

import click

from cargohold.sources import MARKER, init_root

__all__ = ["init"]


@click.command("init")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
def init(path: Path | None) -> None:
    """Mark PATH (default: the current directory) as the repository root."""
    root, created = init_root(path)
    if created:
        click.echo(f"Marked {root} as the repository root ({MARKER}); dotted paths are imported from here.")
    else:
        click.echo(f"{root} is already the repository root.")
