"""``cargohold stack``: register stacks of components, pick the active one, and manage them."""

from __future__ import annotations

from typing import Any

import click

from cargohold.cli._output import json_option, print_json, print_table
from cargohold.client import Client
from cargohold.components import StackComponentType
from cargohold.registry import StackRecord

__all__ = ["stack"]

_ARTIFACT_STORE = StackComponentType.ARTIFACT_STORE.value


def _members(artifact_store: str | None, components: tuple[str, ...]) -> dict[str, str]:
    """``-a NAME`` and ``-c TYPE=NAME`` options as a mapping of component type to component name."""
    found: dict[str, str] = {}
    for item in components:
        component_type, sep, name = item.partition("=")
        if not sep or not component_type or not name:
            raise click.ClickException(f"--component takes TYPE=NAME, e.g. artifact_store=local, not {item!r}.")
        found[component_type.replace("-", "_")] = name
    if artifact_store is not None:
        found[_ARTIFACT_STORE] = artifact_store
    return found


def _component_options(command: Any) -> Any:
    command = click.option(
        "-c", "--component", "components", multiple=True, metavar="TYPE=NAME", help="A component of another type."
    )(command)
    return click.option("-a", "--artifact-store", "artifact_store", metavar="NAME", help="The artifact store.")(command)


def _stack_data(record: StackRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "active": record.active,
        "created": record.created,
        "updated": record.updated,
        "components": {t: {"name": c.name, "flavor": c.flavor, "id": c.id} for t, c in record.components.items()},
    }


@click.group("stack")
def stack() -> None:
    """Register stacks of components and choose the active one."""


@stack.command("register")
@click.argument("name")
@_component_options
@click.option("--set", "activate", is_flag=True, help="Make it the active stack.")
def register(name: str, artifact_store: str | None, components: tuple[str, ...], activate: bool) -> None:
    """Register the stack NAME of the given components."""
    Client().register_stack(name, _members(artifact_store, components), activate=activate)
    click.echo(f"Registered the stack {name!r}{' and made it active' if activate else ''}.")


@stack.command("list")
@json_option()
def list_(as_json: bool) -> None:
    """Every stack; the active one is marked."""
    records = Client().stacks()
    if as_json:
        print_json([_stack_data(r) for r in records])
        return
    types = sorted({t for r in records for t in r.components})
    print_table(
        ["ACTIVE", "NAME", *(t.replace("_", " ").upper() for t in types)],
        [
            ("*" if r.active else "", r.name, *(r.components[t].name if t in r.components else "" for t in types))
            for r in records
        ],
    )


@stack.command("describe")
@click.argument("name", required=False)
@json_option()
def describe(name: str | None, as_json: bool) -> None:
    """A stack's components (the active stack when NAME is left out)."""
    record = Client().get_stack(name)
    if as_json:
        print_json(_stack_data(record))
        return
    click.echo(f"stack {record.name!r}{' (active)' if record.active else ''} (id {record.id})")
    print_table(["TYPE", "NAME", "FLAVOR"], [(t, c.name, c.flavor) for t, c in record.components.items()])


@stack.command("set")
@click.argument("name")
def set_(name: str) -> None:
    """Make NAME the active stack."""
    Client().activate_stack(name)
    click.echo(f"The active stack is now {name!r}.")


@stack.command("update")
@click.argument("name")
@_component_options
def update(name: str, artifact_store: str | None, components: tuple[str, ...]) -> None:
    """Replace NAME's components of the given types."""
    members = _members(artifact_store, components)
    if not members:
        raise click.ClickException("Nothing to update; give --artifact-store NAME or --component TYPE=NAME.")
    Client().update_stack(name, members)
    click.echo(f"Updated the stack {name!r}.")


@stack.command("rename")
@click.argument("name")
@click.argument("new_name")
def rename(name: str, new_name: str) -> None:
    """Rename the stack NAME to NEW_NAME."""
    Client().rename_stack(name, new_name)
    click.echo(f"Renamed the stack {name!r} to {new_name!r}.")


@stack.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """Delete the stack NAME (its components stay); the active stack cannot be deleted."""
    Client().delete_stack(name)
    click.echo(f"Deleted the stack {name!r}.")
