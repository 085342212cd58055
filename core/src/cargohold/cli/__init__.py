"""The ``cargohold`` command: a click group whose subcommands load on first use, so startup stays fast."""

from __future__ import annotations

import functools
import importlib
import warnings
from typing import Any

import click

from cargohold._version import __version__
from cargohold.exceptions import CargoholdError, DeprecatedFieldWarning, PluginWarning

__all__ = ["main"]

#: command name -> "module:attribute"; each noun lives in its own module.
_COMMANDS = {
    "artifact": "cargohold.cli.artifact:artifact",
    "artifact-store": "cargohold.cli.components:artifact_store",
    "connect": "cargohold.cli.connect:connect",
    "doctor": "cargohold.cli.doctor:doctor",
    "flavor": "cargohold.cli.flavor:flavor",
    "fs": "cargohold.cli.fs:fs",
    "init": "cargohold.cli.init:init",
    "plugins": "cargohold.cli.plugins:plugins",
    "secret": "cargohold.cli.secret:secret",
    "stack": "cargohold.cli.stack:stack",
}


class _LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs; a plugin's component type gets a group too,
    and a plugin's ``cargohold_cli_commands`` hook adds commands (asked only for a name core does not have)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*_COMMANDS, *self.commands, *_plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is not None:
            module, _, attr = target.partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        found = super().get_command(ctx, cmd_name) or _plugin_commands().get(cmd_name)
        if found is not None:
            return found
        from cargohold.cli.components import group_for_type

        return group_for_type(cmd_name.replace("-", "_"))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CargoholdError as exc:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(str(exc)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a bug, most often in a plugin: one line unless asked for the traceback
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(_bug_line(exc)) from None


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cargohold", message="%(prog)s %(version)s")
@click.option(
    "--debug", is_flag=True, envvar="CARGOHOLD_DEBUG", help="Show the traceback of an error (or CARGOHOLD_DEBUG=1)."
)
def main(debug: bool) -> None:
    """cargohold: register artifact stores and stacks, and move artifacts through them."""
    warnings.formatwarning = _one_line_warning
    warnings.simplefilter("default", DeprecatedFieldWarning)  # Python hides DeprecationWarnings; users must see these


@functools.cache
def _plugin_commands() -> dict[str, click.Command]:
    """The commands plugins add, by name; one that takes a name core uses is dropped with a warning."""
    from cargohold.plugins import get_flavor_registry

    found: dict[str, click.Command] = {}
    commands: list[click.Command] = get_flavor_registry().extensions("cargohold_cli_commands")
    for command in commands:
        name = command.name or ""
        if name in _COMMANDS or name in found:
            where = "a core command" if name in _COMMANDS else "another plugin's command"
            warnings.warn(
                f"A plugin's command {name!r} ({command.callback.__module__ if command.callback else '?'}) is not "
                f"added: the name is {where}; uninstall or block one with CARGOHOLD_DISABLE_PLUGINS.",
                PluginWarning,
                stacklevel=2,
            )
            continue
        found[name] = command
    return found


def _bug_line(exc: Exception) -> str:
    """An unexpected exception as one line: what, where it was raised, and how to see the rest."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (raised at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    detail = " ".join(str(exc).split())
    return (
        f"{type(exc).__name__}: {detail}{where}; this is a bug in cargohold or in a plugin, and --debug "
        "(or CARGOHOLD_DEBUG=1) shows its traceback."
    )


def _one_line_warning(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> str:
    """Warnings on the command line are one sentence each, like errors."""
    return f"Warning: {message}\n"
