"""The ``cargohold ui`` command, added through cargohold's ``cargohold_cli_commands`` hook.

This module is imported whenever the command line lists its commands, so it imports click and
``cargohold.plugin`` only; the web stack loads when the command runs.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket

import click

from cargohold.plugin import hookimpl

__all__ = ["cargohold_api_version", "cargohold_cli_commands", "ui"]

cargohold_api_version = 1
#: The shortest token accepted: one anybody could guess protects nothing.
MIN_TOKEN = 16


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach ``host``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("ui")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0 picks a free port.")
@click.option(
    "--token",
    envvar="CARGOHOLD_UI_TOKEN",
    help="The token every request needs (or CARGOHOLD_UI_TOKEN); a random one when listening on loopback.",
)
def ui(host: str, port: int, token: str | None) -> None:
    """Browse registered stores, their artifacts and visualizations in a browser; open the URL it prints."""
    if token is not None and len(token) < MIN_TOKEN:
        raise click.BadParameter(f"the token must be at least {MIN_TOKEN} characters long.", param_hint="--token")
    if token is None and not is_loopback(host):
        raise click.UsageError(
            f"--host {host} can be reached from other machines; give a --token (or CARGOHOLD_UI_TOKEN) of at "
            f"least {MIN_TOKEN} characters, so that only those who know it get in."
        )
    import uvicorn

    from cargohold_ui.app import create_app

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # before the URL is printed: a browser that opens it at once is queued, not refused
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"Cannot listen on {host}:{port} ({exc.strerror}); pick another --port.") from None
    token = token or secrets.token_urlsafe(32)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    click.echo(f"cargohold ui: http://{shown}:{sock.getsockname()[1]}/?token={token}")
    click.echo("Open that URL; Ctrl+C stops the viewer.", err=True)
    # No access log: the first request's URL holds the token.
    config = uvicorn.Config(create_app(token), log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


@hookimpl
def cargohold_cli_commands() -> list[click.Command]:
    """The ``ui`` command."""
    return [ui]
