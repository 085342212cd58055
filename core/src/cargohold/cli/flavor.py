"""``cargohold flavor``: list and describe the flavors installed and registered."""

from __future__ import annotations

from typing import Any

import click

from cargohold.cli._output import print_json, print_table
from cargohold.cli.scaffold import new
from cargohold.flavors import Flavor
from cargohold.secrets import REDACTED, is_secret_field

__all__ = ["flavor", "make_flavor_group"]


def _type_name(annotation: Any) -> str:
    name = getattr(annotation, "__name__", None)
    return name if name and not getattr(annotation, "__args__", None) else str(annotation).replace("typing.", "")


def flavor_fields(flavor: Flavor) -> list[dict[str, Any]]:
    """The config fields as ``describe`` shows them; a secret's default is never printed."""
    rows = []
    for name, field in flavor.config_class.model_fields.items():
        secret = is_secret_field(field)
        if field.is_required():
            default: Any = None
        elif field.default_factory is not None:
            default = "(computed)"
        else:
            default = REDACTED if secret and field.default is not None else field.default
        rows.append(
            {
                "name": name,
                "type": _type_name(field.annotation),
                "required": field.is_required(),
                "default": default,
                "secret": secret,
                "description": field.description or "",
            }
        )
    return rows


def _listing(component_type: str | None) -> list[dict[str, Any]]:
    from cargohold.plugins import get_flavor_registry

    registry = get_flavor_registry()
    rows = []
    for (ctype, name), found in registry.items():
        if component_type is None or ctype == component_type:
            origin = registry.origin(ctype, name)
            rows.append(
                {
                    "type": ctype,
                    "name": name,
                    "source": origin.distribution,
                    "version": origin.version,
                    "origin": "plugin" if origin.distribution != "cargohold" else "built-in",
                    "description": found.description or "",
                }
            )
    return rows


def make_flavor_group(component_type: str | None) -> click.Group:
    """The ``flavor`` group, for every type (``cargohold flavor``) or one (``cargohold artifact-store flavor``)."""

    @click.group("flavor")
    def group() -> None:
        """List and describe flavors."""

    type_option = click.option(
        "--type", "type_", default=None, metavar="TYPE", help="Only this component type, e.g. artifact_store."
    )

    @group.command("list")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def list_(as_json: bool, type_: str | None = component_type) -> None:
        """The flavors cargohold can use, and where each comes from."""
        rows = _listing(type_)
        if as_json:
            print_json(rows)
        else:
            print_table(
                ["TYPE", "FLAVOR", "SOURCE", "VERSION"],
                [(r["type"], r["name"], r["source"], r["version"]) for r in rows],
            )

    @group.command("describe")
    @click.argument("name")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    def describe(name: str, as_json: bool, type_: str | None = component_type) -> None:
        """A flavor's config fields: types, defaults, which are secret, and its docs."""
        from cargohold.plugins import get_flavor_registry

        registry = get_flavor_registry()
        found = registry.get_flavor(type_ or "artifact_store", name)
        origin = registry.origin(found.type, found.name)
        fields = flavor_fields(found)
        data: dict[str, Any] = {
            "type": found.type,
            "name": found.name,
            "source": origin.distribution,
            "version": origin.version,
            "description": found.description or "",
            "docs_url": found.docs_url,
            "fields": fields,
        }
        if as_json:
            print_json({**data, "config_schema": found.config_schema})
            return
        click.echo(f"{found.type} flavor {found.name!r} from {origin.distribution} {origin.version}")
        if found.description:
            click.echo(found.description)
        if found.docs_url:
            click.echo(f"docs: {found.docs_url}")
        print_table(
            ["FIELD", "TYPE", "DEFAULT", "SECRET", "DESCRIPTION"],
            [
                (
                    f["name"],
                    f["type"],
                    "(required)" if f["required"] else repr(f["default"]),
                    "yes" if f["secret"] else "",
                    f["description"],
                )
                for f in fields
            ],
        )

    if component_type in (None, "artifact_store"):  # the scaffold writes artifact store flavors
        group.add_command(new)
    if component_type is None:
        type_option(list_)
        type_option(describe)
    return group


flavor = make_flavor_group(None)
