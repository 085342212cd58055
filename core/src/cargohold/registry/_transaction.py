"""Every query the registry runs, on one open transaction; values always travel as parameters, never as SQL text."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from cargohold._names import NAME
from cargohold._sealing import is_sealed
from cargohold._secret_store import BUILTIN, discard_values, load_values, store_values
from cargohold.exceptions import InvalidConfigError, NameTakenError, NotRegisteredError, SecretNotFoundError
from cargohold.registry._records import ComponentRecord, FlavorRecord, SecretRecord, StackRecord

__all__ = ["NAME_PATTERN", "Connection", "Row", "Transaction"]

#: Names of components, stacks and secrets, and secret keys: they must fit into a ``{{secret.key}}`` reference.
NAME_PATTERN = re.compile(NAME)
_ACTIVE_STACK = "active_stack"
#: The ``state`` row that says every secret value in the file is sealed.
_SEALED = "secrets_sealed"
#: The ``state`` row naming the secrets backend that keeps new values (the built-in one when absent).
_BACKEND = "secrets_backend"
#: A constant spliced into a few queries; no SQL is ever built from input.
_COMPONENT_COLUMNS = "id, name, type, flavor, config, created, updated, revision"
_log = logging.getLogger("cargohold.registry")


class Row(Protocol):
    """A result row by column name: ``sqlite3.Row``, or psycopg's ``dict_row``."""

    def __getitem__(self, key: str, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...


class _Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What the queries need of a database connection: SQLite's, or the PostgreSQL adapter's."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> _Cursor: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def check_name(kind: str, name: str) -> None:
    """Refuse a name that could not appear in a secret reference."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise InvalidConfigError(
            f"{name!r} is not a valid {kind} name; use letters, digits, '-' and '_', starting with a letter or digit."
        )


def _missing(kind: str, name: str, known: Iterable[str]) -> NotRegisteredError:
    listed = ", ".join(sorted(known)) or "none"
    return NotRegisteredError(f"No {kind} named {name!r} is registered (registered: {listed}).")


def _component(row: Row) -> ComponentRecord:
    return ComponentRecord(
        id=row["id"],
        name=row["name"],
        type=row["type"],
        flavor=row["flavor"],
        config=json.loads(row["config"]),
        created=row["created"],
        updated=row["updated"],
        revision=row["revision"],
    )


def _secret(row: Row) -> SecretRecord:
    return SecretRecord(
        id=row["id"],
        name=row["name"],
        keys=tuple(sorted(json.loads(row["data"]))),
        owner=row["owner"],
        created=row["created"],
        updated=row["updated"],
    )


class Transaction:
    """One read or write transaction; ``Registry.read()`` and ``Registry.write()`` hand it out."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._after_commit: list[Callable[[], None]] = []

    def committed(self) -> None:
        """Run what waited for the commit (a backend discarding the values no row refers to any more); its
        failure is logged, since the write itself has succeeded."""
        for action in self._after_commit:
            try:
                action()
            except Exception as exc:
                _log.warning("The registry's write committed, but old secret values were not discarded: %s", exc)

    def _one(self, sql: str, *params: Any) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    def _all(self, sql: str, *params: Any) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    def _run(self, sql: str, *params: Any) -> None:
        self._conn.execute(sql, params)

    # -- custom flavors ----------------------------------------------------------------------------

    def flavors(self, component_type: str | None = None) -> list[FlavorRecord]:
        """Custom flavors, of one type or all."""
        rows = self._all(
            "SELECT type, name, source, root, created FROM flavors WHERE ? IS NULL OR type = ? ORDER BY type, name",
            component_type,
            component_type,
        )
        return [FlavorRecord(**dict(row)) for row in rows]

    def find_flavor(self, component_type: str, name: str) -> FlavorRecord | None:
        """The custom flavor of that type and name, if registered."""
        row = self._one(
            "SELECT type, name, source, root, created FROM flavors WHERE type = ? AND name = ?", component_type, name
        )
        return FlavorRecord(**dict(row)) if row else None

    def insert_flavor(self, component_type: str, name: str, source: str, root: str) -> FlavorRecord:
        """Record a custom flavor; its name must be free for its type."""
        found = self.find_flavor(component_type, name)
        if found is not None:
            raise NameTakenError(
                f"A custom {component_type} flavor named {name!r} is already registered from {found.source!r}; "
                "delete it first or give the new one another name."
            )
        record = FlavorRecord(component_type, name, source, root, _now())
        self._run(
            "INSERT INTO flavors (type, name, source, root, created) VALUES (?, ?, ?, ?, ?)",
            record.type,
            record.name,
            record.source,
            record.root,
            record.created,
        )
        return record

    def delete_flavor(self, component_type: str, name: str) -> None:
        """Forget a custom flavor."""
        self._run("DELETE FROM flavors WHERE type = ? AND name = ?", component_type, name)

    # -- components --------------------------------------------------------------------------------

    def components(self, component_type: str | None = None) -> list[ComponentRecord]:
        """Registered components, of one type or all, by name."""
        rows = self._all(
            f"SELECT {_COMPONENT_COLUMNS} FROM components WHERE ? IS NULL OR type = ? ORDER BY type, name",
            component_type,
            component_type,
        )
        return [_component(row) for row in rows]

    def components_mentioning(self, text: str) -> list[ComponentRecord]:
        """Components whose stored config holds ``text`` anywhere: the few worth parsing for a secret's references."""
        rows = self._all(f"SELECT {_COMPONENT_COLUMNS} FROM components WHERE config LIKE '%' || ? || '%'", text)
        return [_component(row) for row in rows]

    def find_component(self, component_type: str, name: str) -> ComponentRecord | None:
        """The component of that type and name, if registered."""
        row = self._one(
            f"SELECT {_COMPONENT_COLUMNS} FROM components WHERE type = ? AND name = ?", component_type, name
        )
        return _component(row) if row else None

    def component(self, component_type: str, name: str) -> ComponentRecord:
        """The component of that type and name, or an error listing the registered ones."""
        found = self.find_component(component_type, name)
        if found is None:
            raise _missing(component_type, name, (c.name for c in self.components(component_type)))
        return found

    def _component_by_id(self, component_id: str) -> ComponentRecord:
        row = self._one(f"SELECT {_COMPONENT_COLUMNS} FROM components WHERE id = ?", component_id)
        assert row is not None, component_id
        return _component(row)

    def check_component_name_free(self, component_type: str, name: str) -> None:
        """Refuse an invalid name, or one already used by a component of that type."""
        check_name(component_type, name)
        if self.find_component(component_type, name) is not None:
            raise NameTakenError(f"The name {name!r} is taken by another {component_type}; pick another name.")

    def insert_component(
        self, component_type: str, name: str, flavor: str, config: Mapping[str, Any]
    ) -> ComponentRecord:
        """Add a component; its name must be free for its type."""
        self.check_component_name_free(component_type, name)
        now = _now()
        component_id = str(uuid.uuid4())
        self._run(
            f"INSERT INTO components ({_COMPONENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
            component_id,
            name,
            component_type,
            flavor,
            json.dumps(dict(config), sort_keys=True),
            now,
            now,
        )
        return self._component_by_id(component_id)

    def set_component_config(self, component_id: str, config: Mapping[str, Any]) -> ComponentRecord:
        """Replace a component's stored config, as its next revision."""
        self._run(
            "UPDATE components SET config = ?, updated = ?, revision = revision + 1 WHERE id = ?",
            json.dumps(dict(config), sort_keys=True),
            _now(),
            component_id,
        )
        return self._component_by_id(component_id)

    def rename_component(self, component: ComponentRecord, new_name: str) -> ComponentRecord:
        """Give a component a new name that is free for its type."""
        self.check_component_name_free(component.type, new_name)
        self._run(
            "UPDATE components SET name = ?, updated = ?, revision = revision + 1 WHERE id = ?",
            new_name,
            _now(),
            component.id,
        )
        return self._component_by_id(component.id)

    def delete_component(self, component_id: str) -> None:
        """Remove a component; the caller has checked that no stack uses it."""
        self._run("DELETE FROM components WHERE id = ?", component_id)

    def components_of_flavor(self, component_type: str, flavor: str) -> list[str]:
        """Names of the components that use a flavor."""
        rows = self._all(
            "SELECT name FROM components WHERE type = ? AND flavor = ? ORDER BY name", component_type, flavor
        )
        return [row["name"] for row in rows]

    # -- stacks ------------------------------------------------------------------------------------

    def _stack(self, row: Row, active_id: str | None) -> StackRecord:
        members = self._all(
            "SELECT c.id, c.name, c.type, c.flavor, c.config, c.created, c.updated, c.revision FROM stack_components s "
            "JOIN components c ON c.id = s.component_id WHERE s.stack_id = ? ORDER BY s.type",
            row["id"],
        )
        return StackRecord(
            id=row["id"],
            name=row["name"],
            active=row["id"] == active_id,
            created=row["created"],
            updated=row["updated"],
            components={member["type"]: _component(member) for member in members},
        )

    def _state(self, key: str) -> str | None:
        row = self._one("SELECT value FROM state WHERE key = ?", key)
        return str(row["value"]) if row else None

    def _set_state(self, key: str, value: str) -> None:
        self._run(
            "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            key,
            value,
        )

    def _active_id(self) -> str | None:
        return self._state(_ACTIVE_STACK)

    def stacks(self) -> list[StackRecord]:
        """Every stack, by name."""
        active = self._active_id()
        return [self._stack(row, active) for row in self._all("SELECT * FROM stacks ORDER BY name")]

    def find_stack(self, name: str) -> StackRecord | None:
        """The stack of that name, if registered."""
        row = self._one("SELECT * FROM stacks WHERE name = ?", name)
        return self._stack(row, self._active_id()) if row else None

    def stack(self, name: str) -> StackRecord:
        """The stack of that name, or an error listing the registered ones."""
        found = self.find_stack(name)
        if found is None:
            raise _missing("stack", name, (row["name"] for row in self._all("SELECT name FROM stacks")))
        return found

    def active_stack(self) -> StackRecord | None:
        """The stack that is in use, if one is set."""
        active = self._active_id()
        row = self._one("SELECT * FROM stacks WHERE id = ?", active) if active else None
        return self._stack(row, active) if row else None

    def _check_stack_name_free(self, name: str) -> None:
        check_name("stack", name)
        if self.find_stack(name) is not None:
            raise NameTakenError(f"The name {name!r} is taken by another stack; pick another name.")

    def insert_stack(self, name: str, components: Iterable[ComponentRecord]) -> StackRecord:
        """Add a stack of the given components, one per type."""
        self._check_stack_name_free(name)
        now = _now()
        stack_id = str(uuid.uuid4())
        self._run("INSERT INTO stacks (id, name, created, updated) VALUES (?, ?, ?, ?)", stack_id, name, now, now)
        self._put_members(stack_id, components)
        return self.stack(name)

    def _put_members(self, stack_id: str, components: Iterable[ComponentRecord]) -> None:
        for component in components:
            self._run(
                "INSERT INTO stack_components (stack_id, type, component_id) VALUES (?, ?, ?) "
                "ON CONFLICT (stack_id, type) DO UPDATE SET component_id = excluded.component_id",
                stack_id,
                component.type,
                component.id,
            )

    def update_stack(self, stack: StackRecord, components: Iterable[ComponentRecord]) -> StackRecord:
        """Put the given components into a stack, replacing those of the same types."""
        self._put_members(stack.id, components)
        self._run("UPDATE stacks SET updated = ? WHERE id = ?", _now(), stack.id)
        return self.stack(stack.name)

    def rename_stack(self, stack: StackRecord, new_name: str) -> StackRecord:
        """Give a stack a new, free name."""
        self._check_stack_name_free(new_name)
        self._run("UPDATE stacks SET name = ?, updated = ? WHERE id = ?", new_name, _now(), stack.id)
        return self.stack(new_name)

    def delete_stack(self, stack_id: str) -> None:
        """Remove a stack; its components stay registered."""
        self._run("DELETE FROM stacks WHERE id = ?", stack_id)

    def set_active_stack(self, stack_id: str) -> None:
        """Make a stack the one in use."""
        self._set_state(_ACTIVE_STACK, stack_id)

    def stacks_using(self, component_id: str) -> list[str]:
        """Names of the stacks that hold a component."""
        rows = self._all(
            "SELECT s.name FROM stacks s JOIN stack_components m ON m.stack_id = s.id "
            "WHERE m.component_id = ? ORDER BY s.name",
            component_id,
        )
        return [row["name"] for row in rows]

    # -- secrets -----------------------------------------------------------------------------------

    def secrets(self) -> list[SecretRecord]:
        """Every secret's name and keys, by name."""
        return [_secret(row) for row in self._all("SELECT * FROM secrets ORDER BY name")]

    def find_secret(self, name: str) -> SecretRecord | None:
        """The secret of that name, if registered."""
        row = self._one("SELECT * FROM secrets WHERE name = ?", name)
        return _secret(row) if row else None

    def secret(self, name: str) -> SecretRecord:
        """The secret of that name, or an error listing the registered ones (names only)."""
        found = self.find_secret(name)
        if found is None:
            known = ", ".join(s.name for s in self.secrets()) or "none"
            raise SecretNotFoundError(f"No secret named {name!r} is registered (registered: {known}).")
        return found

    def owned_secret(self, component_id: str) -> SecretRecord | None:
        """The secret that keeps a component's plain secret values, if it has one."""
        row = self._one("SELECT * FROM secrets WHERE owner = ?", component_id)
        return _secret(row) if row else None

    def _stored(self, secret_id: str) -> dict[str, str]:
        row = self._one("SELECT data FROM secrets WHERE id = ?", secret_id)
        assert row is not None
        stored: dict[str, str] = json.loads(row["data"])
        return stored

    def _stored_json(self, secret_id: str, values: Mapping[str, str]) -> str:
        """A secret's values as its row keeps them: key names in the clear, each value kept by the backend."""
        return json.dumps(store_values(self.secrets_backend(), secret_id, values), sort_keys=True)

    def _discard_after_commit(self, secret_id: str, stored: Mapping[str, str]) -> None:
        self._after_commit.append(lambda: discard_values(secret_id, stored))

    def secret_values(self, name: str) -> dict[str, str]:
        """A secret's values: only for building a component, never for showing."""
        secret = self.secret(name)
        return load_values(secret.id, self._stored(secret.id))

    def insert_secret(self, name: str, values: Mapping[str, str], owner: str | None = None) -> SecretRecord:
        """Add a secret; its name must be free."""
        check_name("secret", name)
        if self.find_secret(name) is not None:
            raise NameTakenError(f"A secret named {name!r} already exists; update it or pick another name.")
        now, secret_id = _now(), str(uuid.uuid4())
        self._run(
            "INSERT INTO secrets (id, name, owner, data, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
            secret_id,
            name,
            owner,
            self._stored_json(secret_id, values),
            now,
            now,
        )
        return self.secret(name)

    def set_secret_values(self, secret: SecretRecord, values: Mapping[str, str]) -> SecretRecord:
        """Replace a secret's values; the backend discards the old ones once this commits."""
        old = self._stored(secret.id)
        self._run(
            "UPDATE secrets SET data = ?, updated = ? WHERE id = ?",
            self._stored_json(secret.id, values),
            _now(),
            secret.id,
        )
        self._discard_after_commit(secret.id, old)
        return self.secret(secret.name)

    def secrets_backend(self) -> str:
        """The name of the secrets backend that keeps new values."""
        return self._state(_BACKEND) or BUILTIN

    def set_secrets_backend(self, name: str) -> int:
        """Keep new values in the backend ``name``, and move every secret's values there; how many moved."""
        self._set_state(_BACKEND, name)
        secrets = self.secrets()
        for secret in secrets:
            self.set_secret_values(secret, self.secret_values(secret.name))
        return len(secrets)

    def secrets_sealed(self) -> bool:
        """Whether every secret value in the file is known to be sealed."""
        return self._state(_SEALED) is not None

    def seal_plain_secrets(self) -> int:
        """Seal every value kept in plain text by a cargohold from before sealing, and mark the file as sealed;
        how many secrets changed."""
        changed = 0
        for row in self._all("SELECT id, data FROM secrets"):
            stored: dict[str, str] = json.loads(row["data"])
            plain = {key: value for key, value in stored.items() if not is_sealed(value)}
            if plain:
                stored.update(store_values(self.secrets_backend(), row["id"], plain))
                self._run("UPDATE secrets SET data = ? WHERE id = ?", json.dumps(stored, sort_keys=True), row["id"])
                changed += 1
        self._set_state(_SEALED, "1")
        return changed

    def rename_secret(self, secret: SecretRecord, new_name: str) -> SecretRecord:
        """Give a secret a new, free name; the caller rewrites the references to it."""
        check_name("secret", new_name)
        if self.find_secret(new_name) is not None:
            raise NameTakenError(f"A secret named {new_name!r} already exists; delete it or pick another name.")
        self._run("UPDATE secrets SET name = ?, updated = ? WHERE id = ?", new_name, _now(), secret.id)
        return self.secret(new_name)

    def delete_secret(self, secret_id: str) -> None:
        """Remove a secret; the caller has checked that nothing refers to it. Its backend discards the values
        once this commits."""
        old = self._stored(secret_id)
        self._run("DELETE FROM secrets WHERE id = ?", secret_id)
        self._discard_after_commit(secret_id, old)
