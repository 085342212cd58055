"""``cargohold flavor``: list, describe, register and delete the flavors installed and registered."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import click

from cargohold._component_types import StackComponentType
from cargohold.cli._output import json_option, print_json, print_table
from cargohold.cli.scaffold import new
from cargohold.client import Client, FlavorInfo
from cargohold.secrets import REDACTED, is_secret_field

if TYPE_CHECKING:
    from cargohold.flavors import Flavor

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


def _where(info: FlavorInfo) -> tuple[str, str]:
    """The SOURCE and VERSION cells: a distribution and its version, or a custom flavor's dotted path and root."""
    if info.origin == "custom":
        return f"{info.source} in {info.root}", "custom"
    return info.source, info.version or ""


def make_flavor_group(component_type: str | None) -> click.Group:
    """The ``flavor`` group, for every type (``cargohold flavor``) or one (``cargohold artifact-store flavor``)."""

    @click.group("flavor")
    def group() -> None:
        """List, describe, register and delete flavors."""

    type_option = click.option(
        "--type", "type_", default=None, metavar="TYPE", help="Only this component type, e.g. artifact_store."
    )

    @group.command("list")
    @json_option()
    def list_(as_json: bool, type_: str | None = component_type) -> None:
        """The flavors cargohold can use: built-in, from plugins and custom, and where each comes from."""
        infos = Client().flavors(type_)
        for info in infos:
            if info.error:
                warnings.warn(f"The custom flavor {info.name!r} cannot be loaded: {info.error}", stacklevel=1)
        if as_json:
            print_json([info.to_dict() for info in infos])
        else:
            print_table(["TYPE", "FLAVOR", "SOURCE", "VERSION"], [(i.type, i.name, *_where(i)) for i in infos])

    @group.command("describe")
    @click.argument("name")
    @json_option()
    def describe(name: str, as_json: bool, type_: str | None = component_type) -> None:
        """A flavor's config fields: types, defaults, which are secret, and its docs."""
        info = Client().flavor_info(type_ or StackComponentType.ARTIFACT_STORE.value, name)
        found = info.usable_flavor()
        fields = flavor_fields(found)
        data: dict[str, Any] = {**info.to_dict(), "docs_url": found.docs_url, "fields": fields}
        if as_json:
            print_json({**data, "config_schema": found.config_schema})
            return
        source, version = _where(info)
        click.echo(f"{found.type} flavor {found.name!r} from {source} {version}")
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

    @group.command("register")
    @click.argument("source", metavar="DOTTED.PATH")
    def register(source: str) -> None:
        """Register the Flavor class at DOTTED.PATH (e.g. my_pkg.flavors.MyFlavor), from the repository root."""
        info = Client().register_flavor(source, component_type=component_type)
        click.echo(f"Registered the custom {info.type} flavor {info.name!r} from {info.source} in {info.root}.")

    @group.command("delete")
    @click.argument("name")
    def delete(name: str, type_: str | None = component_type) -> None:
        """Forget the custom flavor NAME; refused while a component uses it."""
        Client().delete_flavor(name, component_type=type_)
        click.echo(f"Deleted the custom flavor {name!r}.")

    if component_type in (None, "artifact_store"):  # the scaffold writes artifact store flavors
        group.add_command(new)
    if component_type is None:
        type_option(list_)
        type_option(describe)
        type_option(delete)
    return group


flavor = make_flavor_group(None)
