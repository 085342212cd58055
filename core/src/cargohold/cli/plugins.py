"""``cargohold plugins``: the installed plugin distributions, what they give, and which failed."""

from __future__ import annotations

from typing import Any

import click

from cargohold.cli._output import json_option, print_json, print_table

__all__ = ["plugins"]


@click.command("plugins")
@json_option()
def plugins(as_json: bool) -> None:
    """Installed plugins: distribution, version, entry point, flavors, and the error of any that failed."""
    import warnings

    from cargohold.plugins import get_flavor_registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the failures are this command's output, not warnings
        registry = get_flavor_registry()
        registry.load_extensions()
    rows: list[dict[str, Any]] = [
        {
            "distribution": info.distribution,
            "version": info.version,
            "entry_point": info.entry_point,
            "flavors": [f"{t}:{n}" for t, n in info.flavors],
            "error": str(info.error.reason) if info.error else None,
            "status": info.error.kind if info.error else "ok",
        }
        for info in registry.plugins
    ]
    if as_json:
        print_json(rows)
        return
    print_table(
        ["DISTRIBUTION", "VERSION", "ENTRY POINT", "FLAVORS", "STATUS"],
        [
            (
                r["distribution"],
                r["version"],
                r["entry_point"],
                ", ".join(r["flavors"]),
                r["status"] if not r["error"] else f"{r['status']}: {r['error']}",
            )
            for r in rows
        ],
    )
