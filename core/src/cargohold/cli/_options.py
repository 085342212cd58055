"""Options click cannot know in advance: ``--field=value`` for a flavor's config, ``--key=value`` for a secret."""

from __future__ import annotations

import collections.abc
import json
import types
import typing
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from cargohold.flavors import Flavor

__all__ = ["EXTRA_OPTIONS", "config_values", "extra_options"]

#: Context settings of a command that takes free-form ``--name=value`` pairs (found in ``ctx.args``).
EXTRA_OPTIONS: dict[str, Any] = {"ignore_unknown_options": True, "allow_extra_args": True}


def extra_options(args: Sequence[str], *, dashes_to_underscores: bool) -> dict[str, str]:
    """The ``--name=value`` and ``--name value`` pairs click left unparsed, by name."""
    found: dict[str, str] = {}
    position = 0
    while position < len(args):
        arg = args[position]
        if not arg.startswith("--") or len(arg) == 2:
            raise click.ClickException(f"Unexpected argument {arg!r}; give values as --name=value.")
        name, has_value, value = arg[2:].partition("=")
        if not has_value:
            position += 1
            if position == len(args) or args[position].startswith("--"):
                raise click.ClickException(f"The option --{name} needs a value; give it as --{name}=VALUE.")
            value = args[position]
        key = name.replace("-", "_") if dashes_to_underscores else name
        if key in found:
            raise click.ClickException(f"The option --{name} is given twice; give it once.")
        found[key] = value
        position += 1
    return found


def config_values(flavor: Flavor, raw: Mapping[str, str]) -> dict[str, Any]:
    """Command-line strings for a flavor's config: JSON for dict, list and model fields, the rest as given.

    Unknown names are passed on unchanged, so the client's error (which lists the fields) names them.
    """
    fields = flavor.config_class.model_fields
    values: dict[str, Any] = {}
    for name, value in raw.items():
        field = fields.get(name)
        values[name] = _json(name, value) if field is not None and _takes_json(field.annotation) else value
    return values


def _json(name: str, value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:  # the message quotes positions, never the value
        raise click.ClickException(
            f"The option --{name} takes JSON such as '{{\"key\": \"value\"}}' or '[1, 2]' ({exc.msg} at {exc.pos})."
        ) from None


def _takes_json(annotation: Any) -> bool:
    """Whether a field's type is a dict, a list-like or a model (also inside ``X | None``)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_takes_json(arg) for arg in typing.get_args(annotation) if arg is not type(None))
    target = origin or annotation
    if not isinstance(target, type) or issubclass(target, str | bytes):
        return False
    from pydantic import BaseModel  # only a command that takes config fields pays for it

    return issubclass(target, BaseModel | collections.abc.Collection)
