"""``cargohold connect``: which registry this user's commands use, the embedded SQLite file or a PostgreSQL one."""

from __future__ import annotations

from urllib.parse import urlsplit

import click

from cargohold import locations
from cargohold.exceptions import RegistryError
from cargohold.registry import URL_FILE, URL_VARIABLE, check_url, registry_url, shown_url

__all__ = ["connect"]


@click.command("connect")
@click.argument("url", required=False)
@click.option("--embedded", is_flag=True, help="Forget the URL: use the SQLite registry in the home folder again.")
def connect(url: str | None, embedded: bool) -> None:
    """Use the registry at URL (postgresql://USER@HOST:PORT/DB) from now on; with no URL, say which is used.

    The URL is remembered in the home folder, so it holds no password: libpq finds one in ~/.pgpass or
    PGPASSWORD. CARGOHOLD_REGISTRY_URL, when set, wins over the remembered URL.
    """
    from cargohold.client import Client

    home = locations.home()
    remembered = home / URL_FILE
    if embedded:
        remembered.unlink(missing_ok=True)
        click.echo(f"Using the embedded registry in {home}.")
        return
    if url is None:
        current = registry_url(home)
        click.echo(f"Using {shown_url(current) if current else f'the embedded registry in {home}'}.")
        return
    check_url(url)
    if urlsplit(url).password is not None:
        raise RegistryError(
            "The URL holds a password, which would be kept in plain text; put it in ~/.pgpass or PGPASSWORD "
            "and give the URL without it."
        )
    Client(home, url=url).stacks()  # reachable, and its tables made or migrated, before it is remembered
    home.mkdir(parents=True, exist_ok=True)
    remembered.write_text(url + "\n")
    note = f" ({URL_VARIABLE} is set and wins in this shell)" if registry_url(home) != url else ""
    click.echo(f"Using the registry at {url} from now on{note}.")
