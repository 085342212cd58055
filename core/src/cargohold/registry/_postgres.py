"""The registry on a PostgreSQL server, for a team: the same tables, migrations and queries as the SQLite file.

Chosen by a ``postgresql://`` URL (``CARGOHOLD_REGISTRY_URL`` or ``cargohold connect``). psycopg 3 is imported
only here, so a SQLite registry never pays for it. Writers queue on one transaction-level advisory lock,
which PostgreSQL grants in the order asked; readers get a consistent snapshot and never wait.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from cargohold.exceptions import RegistryError
from cargohold.registry._registry import DefaultStore, committed, seed
from cargohold.registry._schema import SCHEMA_VERSION, migrate, schema_version
from cargohold.registry._transaction import Transaction

if TYPE_CHECKING:
    import psycopg

__all__ = ["SCHEMES", "PostgresRegistry", "shown_url"]

#: URL schemes that select this backend.
SCHEMES = ("postgresql://", "postgres://")
#: Seconds to wait for the server before the registry is reported unreachable.
CONNECT_TIMEOUT = 10
#: The advisory lock every writer of a registry database takes (any constant; "cargohol" in ASCII).
_WRITE_LOCK = 0x636172676F686F6C
_HAS_TABLE = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"


def shown_url(url: str, password: str | None = "***") -> str:
    """``url`` with any password replaced by ``password`` (for messages), or dropped with None (for a URL that
    travels to another process, whose libpq takes it from ``PGPASSWORD`` or ``~/.pgpass``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    login, _, host = parts.netloc.rpartition("@")
    user = login.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user if password is None else f'{user}:{password}'}@{host}"))


class _Connection:
    """psycopg under the SQLite module's ``?`` placeholders, so both backends run the same SQL text."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        return self.raw.execute(re.sub(r"\?", "%s", sql.replace("%", "%%")), tuple(parameters))


class PostgresRegistry:
    """A registry in the PostgreSQL database at ``url``; created (tables, default stack) on first use."""

    def __init__(self, url: str, default_store: DefaultStore = lambda: None) -> None:
        self.url = url
        self.where = shown_url(url)
        self._default_store = default_store
        self._checked = False

    def __repr__(self) -> str:
        return f"PostgresRegistry({self.where!r})"

    def exists(self) -> bool:
        """A database server is there to be used: whether its tables are made yet is for the first use."""
        return True

    @contextlib.contextmanager
    def read(self) -> Iterator[Transaction]:
        """A consistent snapshot to read from."""
        with self._transaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", lock=False) as tx:
            yield tx

    @contextlib.contextmanager
    def write(self) -> Iterator[Transaction]:
        """One write transaction, after every earlier writer's: all of it is committed, or none of it."""
        with self._transaction("BEGIN", lock=True) as tx:
            yield tx
        committed()

    @contextlib.contextmanager
    def _transaction(self, begin: str, *, lock: bool) -> Iterator[Transaction]:
        import psycopg

        conn = self._connect()
        try:
            conn.execute(begin)
            if lock:
                conn.execute("SELECT pg_advisory_xact_lock(?)", (_WRITE_LOCK,))
            tx = Transaction(conn)
            try:
                yield tx
            except BaseException:
                conn.raw.rollback()
                raise
            conn.raw.commit()
            tx.committed()
        except psycopg.Error as exc:
            raise RegistryError(f"The registry at {self.where} could not be used: {self._clean(exc)}.") from None
        finally:
            conn.raw.close()

    def _clean(self, exc: Exception) -> str:
        """The server's words, one line, without the URL's password should a message quote it."""
        text = " ".join(str(exc).split()).rstrip(".")
        password = urlsplit(self.url).password
        return text.replace(password, "***") if password else text

    def _connect(self) -> _Connection:
        """A connection (autocommit, so transactions are begun explicitly), the schema checked once."""
        import psycopg
        from psycopg.rows import dict_row

        try:
            raw = psycopg.connect(
                self.url,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT,
                row_factory=dict_row,
                cursor_factory=psycopg.ClientCursor,
            )
        except psycopg.Error as exc:
            raise RegistryError(f"Cannot reach the registry at {self.where}: {self._clean(exc)}.") from None
        conn = _Connection(raw)
        if not self._checked:
            try:
                self._prepare(conn)
            except BaseException:
                raw.close()
                raise
            self._checked = True
        return conn

    def _prepare(self, conn: _Connection) -> None:
        """Make, migrate or refuse the schema, under the writers' lock so two clients upgrading wait in turn."""
        import psycopg

        try:
            version = schema_version(conn, _HAS_TABLE)
            if version == SCHEMA_VERSION and Transaction(conn).secrets_sealed():
                return
            conn.execute("BEGIN")
            conn.execute("SELECT pg_advisory_xact_lock(?)", (_WRITE_LOCK,))
            version = schema_version(conn, _HAS_TABLE)  # another client may have migrated while this one waited
            if version > SCHEMA_VERSION:
                conn.raw.rollback()
                raise RegistryError(
                    f"The registry at {self.where} has schema version {version}, newer than the {SCHEMA_VERSION} "
                    "this cargohold understands; upgrade cargohold to use it."
                )
            if version < SCHEMA_VERSION:
                migrate(conn, version)
                if version == 0:
                    seed(Transaction(conn), self._default_store)
            Transaction(conn).seal_plain_secrets()
            conn.raw.commit()
        except psycopg.Error as exc:
            conn.raw.rollback()
            raise RegistryError(f"The registry at {self.where} could not be prepared: {self._clean(exc)}.") from None
