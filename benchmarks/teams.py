"""P12 and P13: what a team registry costs. P12 runs the same reads on a PostgreSQL registry and on the
embedded SQLite one, each holding the same stores; P13 is what sealing adds to resolving a store's secrets.

P12's server is Debian's PostgreSQL on loopback, started here as the tests start it. Both registries hold
the default stack, ``STORES`` more local artifact stores and one secret.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import (
    Figure,
    NotAvailableError,
    Result,
    alternate,
    for_scale,
    private_cargohold,
    run_timed,
    scratch,
    script,
)

ROUNDS = 15
STORES = 20
#: In-process resolutions per round, so that one round's time is well above the clock's grain.
CALLS = 20


@contextmanager
def _registries(where: Path) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """The environments of an SQLite registry and a PostgreSQL one with the same contents; the server runs
    while the body does."""
    try:
        from postgres_server import binary, postgres

        binary("initdb")
    except (ImportError, FileNotFoundError) as exc:
        raise NotAvailableError(f"no PostgreSQL server binaries here ({exc}); install Debian's postgresql") from exc
    from cargohold.client import Client

    with private_cargohold(where) as home, postgres() as server:
        url = server.new_database()
        for client in (Client(home), Client(home, url=url)):
            client.create_secret("creds", {"token": "t" * 40, "password": "p" * 40})
            for i in range(STORES):
                config = {"path": str(where / f"store{i}")}
                client.register_component("artifact_store", f"store{i}", "local", config)
        sqlite = dict(os.environ, CARGOHOLD_REGISTRY_URL="")
        yield sqlite, dict(os.environ, CARGOHOLD_REGISTRY_URL=url)


def _resolve(env: dict[str, str]) -> float:
    """Seconds of ``CALLS`` fresh ``Client().active_stack.artifact_store`` in this process, on ``env``'s registry."""
    from cargohold.client import Client

    saved = os.environ.get("CARGOHOLD_REGISTRY_URL")
    os.environ["CARGOHOLD_REGISTRY_URL"] = env["CARGOHOLD_REGISTRY_URL"]
    try:
        started = time.perf_counter()
        for _ in range(CALLS):
            Client().active_stack.artifact_store  # noqa: B018 - building it is what is timed
        return (time.perf_counter() - started) / CALLS
    finally:
        os.environ["CARGOHOLD_REGISTRY_URL"] = saved or ""


def p12() -> Result:
    cargohold = script("cargohold")
    with scratch("p12") as where, _registries(where) as (sqlite, postgresql):
        listing = [cargohold, "artifact-store", "list"]
        run_timed(listing, sqlite)  # compiles bytecode and fills the plugin cache: not counted
        run_timed(listing, postgresql)
        cli = alternate(lambda: run_timed(listing, postgresql), lambda: run_timed(listing, sqlite), ROUNDS)
        _resolve(postgresql)  # imports and first connections: not counted
        _resolve(sqlite)
        built = alternate(lambda: _resolve(postgresql), lambda: _resolve(sqlite), ROUNDS)
    low, high = cli.spread
    blow, bhigh = built.spread
    return Result(
        "P12",
        "the registry on PostgreSQL against the embedded SQLite, on loopback",
        f"both registries hold {STORES} local artifact stores and one two-key secret; {ROUNDS} alternating rounds "
        "after one uncounted run of each; medians, ratio = median of per-round ratios. The CLI row times whole "
        f"processes; the Python row times {CALLS} fresh `Client().active_stack.artifact_store` per round in one "
        "process (a Client connects anew each time: no pool)",
        [
            for_scale(
                f"`cargohold artifact-store list` ({STORES + 1} stores), PostgreSQL against SQLite",
                cli.ours_median,
                cli.baseline_median,
                cli.ratio,
                f"per-round ratios {low:.2f}-{high:.2f}",
            ),
            for_scale(
                "`Client().active_stack.artifact_store`, PostgreSQL against SQLite",
                built.ours_median,
                built.baseline_median,
                built.ratio,
                f"per-round ratios {blow:.2f}-{bhigh:.2f}",
            ),
        ],
    )


def _unseal_and_resolve(home: Path, name: str) -> tuple[float, float]:
    """Seconds to open the sealed values of the secret the store ``name`` refers to (its key looked up as on
    every read), and to resolve the whole store from the registry, each the median of ``CALLS``."""
    import contextlib
    import json
    import sqlite3
    import statistics

    from cargohold._sealing import FernetBackend
    from cargohold.client import Client

    with contextlib.closing(sqlite3.connect(home / "registry.db")) as db:
        secret_id, data = db.execute("SELECT id, data FROM secrets WHERE name = 'creds'").fetchone()
    tokens = {key: value.partition(":")[2] for key, value in json.loads(data).items()}
    fernet = FernetBackend()
    unseal, resolve = [], []
    for _ in range(CALLS):
        started = time.perf_counter()
        fernet.load(secret_id, tokens)
        unseal.append(time.perf_counter() - started)
        started = time.perf_counter()
        Client().get_artifact_store(name)
        resolve.append(time.perf_counter() - started)
    return statistics.median(unseal), statistics.median(resolve)


def p13() -> Result:
    from cargohold.client import Client

    with scratch("p13") as where, private_cargohold(where) as home:
        os.environ["CARGOHOLD_REGISTRY_URL"] = ""
        client = Client()
        client.create_secret("creds", {"path": str(where / "s"), "token": "t" * 40})
        client.register_component("artifact_store", "sealed", "local", {"path": "{{creds.path}}"})
        _unseal_and_resolve(home, "sealed")  # imports and first reads: not counted
        rounds = [_unseal_and_resolve(home, "sealed") for _ in range(ROUNDS)]
    unseal = sorted(u for u, _ in rounds)
    resolve = sorted(r for _, r in rounds)
    cost, whole = unseal[len(rounds) // 2], resolve[len(rounds) // 2]
    return Result(
        "P13",
        "what sealing adds to resolving a store's secrets",
        "a local store whose path refers to a two-key sealed secret: the time to open the secret's values "
        "(Fernet, the key read from its file as on every read) against resolving the whole store from the SQLite "
        f"registry; median of {ROUNDS} rounds of the median of {CALLS} calls; rounds spread "
        f"{unseal[0] * 1e3:.3f}-{unseal[-1] * 1e3:.3f} ms",
        [
            Figure(
                "opening a store's sealed secret values, against resolving the store",
                f"{cost * 1e3:.3f} ms",
                f"{whole * 1e3:.2f} ms",
                cost / whole,
                "<= 1 ms per store",
                "pass" if cost <= 0.001 else "miss",
            )
        ],
    )


if __name__ == "__main__":  # one id alone, for a quick look: python benchmarks/teams.py P12
    print({"P12": p12, "P13": p13}[sys.argv[1]]())
