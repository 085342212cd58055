"""``cargohold secret``: credentials that configs refer to as ``{{name.key}}``; values are never shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from cargohold.cli._options import EXTRA_OPTIONS, extra_options
from cargohold.cli._output import json_option, print_json, print_table
from cargohold.client import Client
from cargohold.registry import SecretRecord

__all__ = ["secret"]


def _values_option(command: Any) -> Any:
    command = click.option("-i", "--interactive", is_flag=True, help="Prompt for keys and hidden values.")(command)
    return click.option(
        "--values",
        "values_from",
        metavar="@FILE.json|JSON",
        help="Key/value pairs from a JSON object, or from a file with @path.",
    )(command)


def _gather(args: list[str], values_from: str | None, interactive: bool) -> dict[str, str]:
    """Values from --values, then --key=value pairs, then prompts; later ones win."""
    values: dict[str, Any] = _read_values(values_from) if values_from else {}
    values.update(extra_options(args, dashes_to_underscores=False))
    while interactive:
        key = click.prompt("Key (empty to finish)", default="", show_default=False)
        if not key:
            break
        values[key] = click.prompt(f"Value of {key}", hide_input=True)
    return values


def _read_values(spec: str) -> dict[str, Any]:
    if spec.startswith("@"):
        try:
            text = Path(spec[1:]).expanduser().read_text()
        except OSError as exc:
            raise click.ClickException(f"Cannot read {spec[1:]!r}: {exc.strerror}.") from None
    else:
        text = spec
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:  # the message quotes positions, never the values
        raise click.ClickException(f"--values needs a JSON object of strings ({exc.msg} at {exc.pos}).") from None
    if not isinstance(data, dict):
        raise click.ClickException('--values needs a JSON object of strings, such as {"key": "value"}.')
    return data


def _secret_data(record: SecretRecord, users: list[str]) -> dict[str, Any]:
    return {**record.to_dict(), "used_by": users}


@click.group("secret")
def secret() -> None:
    """Store credentials once and refer to them from configs as {{name.key}}."""


@secret.command("create", context_settings=EXTRA_OPTIONS)
@click.argument("name")
@_values_option
@click.pass_context
def create(ctx: click.Context, name: str, values_from: str | None, interactive: bool) -> None:
    """Create the secret NAME from --key=value pairs, --values=@file.json or -i prompts."""
    values = _gather(ctx.args, values_from, interactive)
    if not values:
        raise click.ClickException("A secret needs at least one key; give --key=value, --values=@file.json or -i.")
    record = Client().create_secret(name, values)
    click.echo(f"Created the secret {name!r} with the keys: {', '.join(record.keys)}.")


@secret.command("list")
@json_option()
def list_(as_json: bool) -> None:
    """Every secret's name and keys (never the values)."""
    client = Client()
    rows = [_secret_data(record, client.secret_users(record.name)) for record in client.secrets()]
    if as_json:
        print_json(rows)
        return
    print_table(["NAME", "KEYS", "USED BY"], [(r["name"], ", ".join(r["keys"]), ", ".join(r["used_by"])) for r in rows])


@secret.command("describe")
@click.argument("name")
@json_option()
def describe(name: str, as_json: bool) -> None:
    """A secret's keys and the component fields that refer to it (never the values)."""
    client = Client()
    data = _secret_data(client.get_secret(name), client.secret_users(name))
    if as_json:
        print_json(data)
        return
    click.echo(f"secret {name!r} (id {data['id']}); created {data['created']}, updated {data['updated']}")
    click.echo(f"keys: {', '.join(data['keys']) or '-'}")
    click.echo(f"used by: {', '.join(data['used_by']) or '-'}")


@secret.command("update", context_settings=EXTRA_OPTIONS)
@click.argument("name")
@_values_option
@click.option("--remove-key", "remove", multiple=True, metavar="KEY", help="Drop a key (repeatable).")
@click.pass_context
def update(ctx: click.Context, name: str, values_from: str | None, interactive: bool, remove: tuple[str, ...]) -> None:
    """Set keys of the secret NAME, or drop them with --remove-key."""
    values = _gather(ctx.args, values_from, interactive)
    if not values and not remove:
        raise click.ClickException("Nothing to update; give --key=value, --values=@file.json, -i or --remove-key.")
    Client().update_secret(name, values, remove=remove)
    click.echo(f"Updated the secret {name!r}.")


@secret.command("rotate-key")
def rotate_key() -> None:
    """Seal every secret value with a new key, in one transaction, and keep only that key."""
    count, where = Client().rotate_secrets_key()
    click.echo(f"Sealed {count} secret(s) with a new key, kept in {where}.")


@secret.command("backend")
@click.argument("name", required=False)
@json_option()
def backend(name: str | None, as_json: bool) -> None:
    """Show where secret values are kept and the installed backends; with NAME, move every value there."""
    client = Client()
    if name is not None:
        moved = client.set_secrets_backend(name)
        click.echo(f"The secrets backend is now {name!r}; moved the values of {moved} secret(s) there.")
        return
    from cargohold._secret_store import backends

    chosen = client.secrets_backend
    rows = [{"name": n, "description": b.description, "chosen": n == chosen} for n, b in backends().items()]
    if as_json:
        print_json(rows)
        return
    print_table(["", "NAME", "DESCRIPTION"], [("*" if r["chosen"] else "", r["name"], r["description"]) for r in rows])


@secret.command("delete")
@click.argument("name")
def delete(name: str) -> None:
    """Delete the secret NAME; refused while a component refers to it."""
    Client().delete_secret(name)
    click.echo(f"Deleted the secret {name!r}.")
