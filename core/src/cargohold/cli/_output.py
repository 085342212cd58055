"""Printing for every command: JSON for machines, a rich table for people (rich imported only here)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from cargohold.exceptions import CargoholdError

__all__ = ["FileErrorGroup", "json_option", "print_json", "print_table"]

F = TypeVar("F", bound=Callable[..., Any])


def json_option(says: str = "Print JSON instead of text.") -> Callable[[F], F]:
    """The ``--json`` flag of every command that prints for scripts, passed as ``as_json``; ``says`` is its help."""
    return click.option("--json", "as_json", is_flag=True, help=says)


def print_json(data: Any) -> None:
    """Stable, indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A table on stdout; empty cells print as a dash, and piped output is never wrapped."""
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns, title=title, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        table.add_row(*("-" if cell is None or cell == "" else str(cell) for cell in row))
    # Piped output is for grep and scripts: never wrap or cut a cell there.
    Console(soft_wrap=True, width=None if sys.stdout.isatty() else 1 << 16).print(table)


class FileErrorGroup(click.Group):
    """Turns the errors a file operation raises into one sentence and a non-zero exit, like ``cp`` does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (OSError, ValueError, CargoholdError) as exc:
            raise click.ClickException(_sentence(exc)) from None


def _sentence(exc: BaseException) -> str:
    """An error as one sentence: an OSError names its path and says what is wrong."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename:
        return f"{exc.filename}: {exc.strerror}."
    text = str(exc).strip() or type(exc).__name__
    return text if text.endswith(".") else f"{text}."
