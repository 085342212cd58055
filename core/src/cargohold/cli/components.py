"""Per-component-type command groups, e.g. ``cargohold artifact-store``: the same commands for every type."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

import click

from cargohold._component_types import StackComponentType
from cargohold.cli._options import EXTRA_OPTIONS, config_values, extra_options
from cargohold.cli._output import json_option, print_json, print_table
from cargohold.cli.flavor import make_flavor_group
from cargohold.client import Client
from cargohold.exceptions import CargoholdError

if TYPE_CHECKING:
    from cargohold.registry import ComponentRecord

__all__ = ["artifact_store", "config_problems", "group_for_type"]


@functools.cache
def group_for_type(component_type: str) -> click.Group | None:
    """The command group of a component type, or None when no installed plugin declares it."""
    if component_type not in {t.value for t in StackComponentType}:
        from cargohold.plugins import get_flavor_registry

        if component_type not in get_flavor_registry().component_types:
            return None
    cli_name = component_type.replace("_", "-")

    @click.group(cli_name, help=f"Register and manage {cli_name}s and their flavors.")
    def group() -> None:
        pass

    group.add_command(make_flavor_group(component_type))
    _add_component_commands(group, component_type)
    return group


def _add_component_commands(group: click.Group, component_type: str) -> None:
    """register, list, describe, update, rename and delete for one component type."""
    label = component_type.replace("_", " ")

    @group.command("register", context_settings=EXTRA_OPTIONS)
    @click.argument("name")
    @click.option("-f", "--flavor", required=True, help="The flavor, e.g. local (see 'flavor list').")
    @click.pass_context
    def register(ctx: click.Context, name: str, flavor: str) -> None:
        """Register NAME; give each config field as --field=value (dict and list fields take JSON)."""
        client = Client()
        raw = extra_options(ctx.args, dashes_to_underscores=True)
        client.register_component(
            component_type, name, flavor, config_values(client.get_flavor(component_type, flavor), raw)
        )
        click.echo(f"Registered the {label} {name!r} of flavor {flavor!r}.")

    @group.command("list")
    @json_option()
    def list_(as_json: bool) -> None:
        """The registered components of this type, and the stacks each is part of."""
        client = Client()
        members: dict[str, list[str]] = {}
        for stack in client.stacks():
            for component in stack.components.values():
                members.setdefault(component.id, []).append(stack.name)
        rows = [_component_data(c, members.get(c.id, []), client) for c in client.components(component_type)]
        if as_json:
            print_json(rows)
            return
        print_table(
            ["NAME", "FLAVOR", "STACKS", "CONFIG", "ID"],
            [
                (r["name"], r["flavor"], ", ".join(r["stacks"]), _config_cell(r["config_problems"]), r["id"])
                for r in rows
            ],
        )

    @group.command("describe")
    @click.argument("name")
    @json_option()
    def describe(name: str, as_json: bool) -> None:
        """One component: its flavor, its config (secrets as references), and the stacks it is part of."""
        client = Client()
        record = client.get_component(component_type, name)
        data = _component_data(record, client.stacks_using(record), client)
        if as_json:
            print_json(data)
            return
        click.echo(f"{label} {record.name!r} of flavor {record.flavor!r} (id {record.id})")
        click.echo(
            f"stacks: {', '.join(data['stacks']) or '-'}; revision {record.revision}, created {record.created}, "
            f"updated {record.updated}"
        )
        for field, reason in data["config_problems"].items():
            click.echo(f"invalid under the installed flavor: {field}: {reason}")
        if data["config_problems"]:
            click.echo(
                f"repair it with 'cargohold {group.name} update {name} --FIELD=VALUE' or --remove-attribute FIELD"
            )
        print_table(["FIELD", "VALUE"], [(field, _shown(value)) for field, value in sorted(record.config.items())])

    @group.command("update", context_settings=EXTRA_OPTIONS)
    @click.argument("name")
    @click.option("--remove-attribute", "remove", multiple=True, metavar="FIELD", help="Unset a field (repeatable).")
    @click.option(
        "--if-revision",
        type=click.IntRange(min=1),
        metavar="N",
        help="Refuse the update unless NAME is still at revision N (as 'describe' showed it).",
    )
    @click.pass_context
    def update(ctx: click.Context, name: str, remove: tuple[str, ...], if_revision: int | None) -> None:
        """Change NAME's config: --field=value merges in, --remove-attribute FIELD unsets.

        Each field given is merged into the config as it is when the write happens, so concurrent updates of
        other fields are kept; --if-revision makes the whole update conditional, for read-modify-write scripts.
        """
        raw = extra_options(ctx.args, dashes_to_underscores=True)
        if not raw and not remove:
            raise click.ClickException("Nothing to update; give --field=value or --remove-attribute FIELD.")
        client = Client()
        flavor = client.get_flavor(component_type, client.get_component(component_type, name).flavor)
        values = config_values(flavor, raw)
        removed = [field.replace("-", "_") for field in remove]
        record = client.update_component(component_type, name, values, remove=removed, if_revision=if_revision)
        click.echo(f"Updated the {label} {name!r} to revision {record.revision}.")

    @group.command("rename")
    @click.argument("name")
    @click.argument("new_name")
    def rename(name: str, new_name: str) -> None:
        """Rename NAME to NEW_NAME; stacks keep it."""
        Client().rename_component(component_type, name, new_name)
        click.echo(f"Renamed the {label} {name!r} to {new_name!r}.")

    @group.command("delete")
    @click.argument("name")
    def delete(name: str) -> None:
        """Delete NAME; refused while a stack uses it."""
        Client().delete_component(component_type, name)
        click.echo(f"Deleted the {label} {name!r}.")


def _component_data(record: ComponentRecord, stacks: list[str], client: Client) -> dict[str, Any]:
    return {**record.to_dict(), "stacks": stacks, "config_problems": config_problems(client, record)}


def config_problems(client: Client, record: ComponentRecord) -> dict[str, str]:
    """Each stored field the installed flavor refuses, by name; ``(flavor)`` when the flavor itself is gone."""
    try:
        return client.config_problems(record)
    except CargoholdError as exc:
        return {"(flavor)": str(exc)}


def _config_cell(problems: dict[str, str]) -> str:
    if "(flavor)" in problems:
        return "flavor missing"
    return f"invalid: {', '.join(problems)}" if problems else "ok"


def _shown(value: Any) -> str:
    """A config value as one table cell: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


artifact_store = group_for_type(StackComponentType.ARTIFACT_STORE.value)
