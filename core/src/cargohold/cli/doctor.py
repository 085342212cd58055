"""``cargohold doctor``: the whole setup checked, one line per problem saying what to do about it."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from typing import NamedTuple

import click

from cargohold.cli._output import json_option, print_json
from cargohold.client import Client
from cargohold.exceptions import CargoholdError
from cargohold.secrets import parse_secret_reference

__all__ = ["Problem", "doctor", "problems"]


class Problem(NamedTuple):
    """One thing wrong: which check found it, what it is about, what is wrong, and what to do."""

    check: str
    subject: str
    problem: str
    fix: str


@click.command("doctor")
@click.option(
    "--timeout", default=10.0, show_default=True, metavar="SECONDS", help="How long the active store has to answer."
)
@json_option()
def doctor(timeout: float, as_json: bool) -> None:
    """Check plugins, flavors, configs, secrets and the active store; exit 1 when anything needs fixing."""
    found = list(problems(Client(), timeout))
    if as_json:
        print_json([p._asdict() for p in found])
    else:
        for p in found:
            click.echo(f"{p.subject}: {p.problem}; {p.fix}.")
        if not found:
            click.echo("No problems found.")
    if found:
        raise click.exceptions.Exit(1)


def problems(client: Client, timeout: float) -> Iterator[Problem]:
    """Every check in turn; the registry's are skipped when there is no registry yet (doctor never creates one)."""
    from cargohold.plugins import get_flavor_registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each failure is reported below, once
        registry = get_flavor_registry()
        registry.load_extensions()
    for error in registry.errors:
        yield Problem(
            "plugin",
            f"plugin {error.entry_point!r} from {error.distribution} {error.version}",
            f"{error.kind}: {error.reason}",
            f"fix or uninstall {error.distribution}, or block it with CARGOHOLD_DISABLE_PLUGINS={error.distribution}",
        )
    if not client.registry.exists():
        return
    for info in client.flavors():
        if info.error:
            yield Problem(
                "custom flavor",
                f"custom {info.type} flavor {info.name!r} ({info.source} in {info.root})",
                info.error,
                f"fix it, or forget it with 'cargohold flavor delete {info.name}'",
            )
    found = list(_component_problems(client))
    yield from found
    active = client.get_stack().components.get("artifact_store")
    if active is None or not any(p.subject.startswith(f"{active.type} {active.name!r}") for p in found):
        yield from _store_problems(client, timeout)  # a store already reported broken would only be reported again


def _component_problems(client: Client) -> Iterator[Problem]:
    """Components whose flavor is gone or whose stored config the installed flavor refuses, and dangling secrets."""
    from cargohold.cli.components import config_problems

    secrets = {record.name: set(record.keys) for record in client.secrets()}
    with client.registry.read() as tx:
        components = tx.components()
    for record in components:
        subject = f"{record.type} {record.name!r}"
        command = f"cargohold {record.type.replace('_', '-')}"
        found = config_problems(client, record)
        if "(flavor)" in found:
            yield Problem(
                "flavor", subject, found["(flavor)"].rstrip("."), f"or delete it with '{command} delete {record.name}'"
            )
        elif found:
            fields = "; ".join(f"{field}: {reason}" for field, reason in found.items())
            yield Problem(
                "config",
                subject,
                f"its config no longer validates against the installed {record.flavor!r} flavor ({fields})",
                f"repair it with '{command} update {record.name} --FIELD=VALUE' or --remove-attribute FIELD",
            )
        for field, value in sorted(record.config.items()):
            reference = parse_secret_reference(value)
            if reference is None or reference.key in secrets.get(reference.secret, ()):
                continue
            missing = "secret" if reference.secret not in secrets else f"key {reference.key!r} of the secret"
            verb = "create" if reference.secret not in secrets else "update"
            yield Problem(
                "secret",
                f"{subject} field {field!r}",
                f"it refers to {value}, but the {missing} {reference.secret!r} does not exist",
                f"run 'cargohold secret {verb} {reference.secret}' with that key",
            )


def _store_problems(client: Client, timeout: float) -> Iterator[Problem]:
    """Whether the active stack's store answers one cheap request within ``timeout`` seconds."""
    outcome: list[BaseException | None] = []
    subject = "the active stack's artifact store"

    def probe() -> None:
        try:
            store = client.active_stack.artifact_store
            store.exists(store.path)
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=probe, name="cargohold-doctor-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        yield Problem(
            "store",
            subject,
            f"it did not answer within {timeout:g} seconds",
            "check that its service is up and reachable from here, or give doctor a longer --timeout",
        )
    elif outcome[0] is not None:
        exc = outcome[0]
        reason = str(exc).rstrip(".") if isinstance(exc, CargoholdError) else f"{type(exc).__name__}: {exc}"
        yield Problem(
            "store",
            subject,
            f"it cannot be reached: {' '.join(reason.split())}",
            "check its config and credentials with 'cargohold stack describe' and that its service is up",
        )
