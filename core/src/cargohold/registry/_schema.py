"""The registry's tables, one migration per schema version; the file records the version it is at."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cargohold.registry._transaction import Connection

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "SQLITE_HAS_TABLE", "migrate", "schema_version"]

#: Whether the table named by the parameter exists, in SQLite's catalog.
SQLITE_HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"

#: ``MIGRATIONS[n]`` takes a file from version ``n`` to ``n + 1``; append, never edit.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version (version) VALUES (0)",
        """CREATE TABLE flavors (
            type TEXT NOT NULL,
            name TEXT NOT NULL,
            source TEXT NOT NULL,
            root TEXT NOT NULL,
            created TEXT NOT NULL,
            PRIMARY KEY (type, name)
        )""",
        """CREATE TABLE components (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            flavor TEXT NOT NULL,
            config TEXT NOT NULL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            UNIQUE (type, name)
        )""",
        """CREATE TABLE stacks (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        )""",
        """CREATE TABLE stack_components (
            stack_id TEXT NOT NULL REFERENCES stacks (id) ON DELETE CASCADE,
            type TEXT NOT NULL,
            component_id TEXT NOT NULL REFERENCES components (id),
            PRIMARY KEY (stack_id, type)
        )""",
        "CREATE INDEX stack_components_by_component ON stack_components (component_id)",
        """CREATE TABLE secrets (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            owner TEXT REFERENCES components (id) ON DELETE SET NULL,
            data TEXT NOT NULL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        )""",
        "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    # A component's revision counts its writes, so an update can say which one it read (no lost update).
    ("ALTER TABLE components ADD COLUMN revision INTEGER NOT NULL DEFAULT 1",),
)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: Connection, has_table: str = SQLITE_HAS_TABLE) -> int:
    """The version a database is at; 0 for a new, empty one. ``has_table`` asks the backend's catalog."""
    if conn.execute(has_table, ("schema_version",)).fetchone() is None:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return int(row["version"]) if row else 0


def migrate(conn: Connection, version: int) -> None:
    """Bring a database from ``version`` to ``SCHEMA_VERSION``; the caller holds the write transaction."""
    for statements in MIGRATIONS[version:]:
        for statement in statements:
            conn.execute(statement, ())
    conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
