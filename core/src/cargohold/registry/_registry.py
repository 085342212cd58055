"""The registry file: created on first use with mode 0600, in WAL mode, migrated, one transaction per operation."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: writers wait in SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

from cargohold._component_types import StackComponentType
from cargohold.exceptions import RegistryError
from cargohold.registry._schema import SCHEMA_VERSION, migrate, schema_version
from cargohold.registry._transaction import Transaction

__all__ = ["BUSY_TIMEOUT_SECONDS", "DEFAULT_STACK", "DefaultStore", "Registry", "after_commit", "committed", "seed"]

#: The stack (and its artifact store) a new registry starts with.
DEFAULT_STACK = "default"
#: How long a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_SECONDS = 60.0
#: Returns the default artifact store's ``(flavor, config)``, or None when no flavor can provide it.
DefaultStore = Callable[[], tuple[str, Mapping[str, Any]] | None]
#: A writer kept waiting this long says so, and again at each further interval, until its turn comes.
WAIT_REPORT_SECONDS = (2.0, 10.0)

_committed: list[Callable[[], None]] = []
_log = logging.getLogger("cargohold.registry")
#: The lock files each thread holds, so that a write that creates or migrates the file takes its lock once.
_held = threading.local()


def after_commit(listener: Callable[[], None]) -> None:
    """Have ``listener`` called after every write this process commits to a registry.

    What a process keeps from the registry (``cargohold.fileio``'s mount of the active stack) is
    dropped this way, so a stack activated or a store changed in the process is used from the next call.
    """
    if listener not in _committed:
        _committed.append(listener)


def committed() -> None:
    """Tell the ``after_commit`` listeners that this process committed a write, to any registry."""
    for listener in _committed:
        listener()


def seed(tx: Transaction, default_store: DefaultStore) -> None:
    """What a new registry starts with: the ``default`` stack, active, with the default artifact store."""
    default = default_store()
    members = []
    if default is not None:
        flavor, config = default
        members.append(tx.insert_component(StackComponentType.ARTIFACT_STORE.value, DEFAULT_STACK, flavor, config))
    stack = tx.insert_stack(DEFAULT_STACK, members)
    tx.set_active_stack(stack.id)
    tx.seal_plain_secrets()  # nothing to seal yet: marks the new registry as sealed


class Registry:
    """The embedded SQLite registry at ``path``; every ``write()`` is one immediate transaction.

    A new file starts with the ``default`` stack, whose ``default`` artifact store comes from
    ``default_store`` (asked only when the file is created). A file of a newer schema is refused.
    """

    #: Only a shared registry has a URL (``PostgresRegistry.url``); a pickled component carries it.
    url: str | None = None

    def __init__(self, path: Path, default_store: DefaultStore = lambda: None) -> None:
        self.path = path
        self._default_store = default_store
        self._checked = False

    def exists(self) -> bool:
        """Whether the file has been created; reading flavors never creates it."""
        return self.path.exists()

    @contextlib.contextmanager
    def read(self) -> Iterator[Transaction]:
        """A consistent snapshot to read from (created with its default stack on first use)."""
        with self._transaction("BEGIN DEFERRED") as tx:
            yield tx

    @contextlib.contextmanager
    def write(self) -> Iterator[Transaction]:
        """One write transaction: all of it is committed, or none of it when anything raises."""
        with self._writer_lock(), self._transaction("BEGIN IMMEDIATE") as tx:
            yield tx
        committed()

    @contextlib.contextmanager
    def _writer_lock(self) -> Iterator[None]:
        """Writers of this file take turns on a lock file, waiting in the kernel with no time limit.

        SQLite's own busy handler polls with growing sleeps, so under load a writer that keeps losing gives up
        with "database is locked"; here it keeps its place and, past ``WAIT_REPORT_SECONDS``, says it waits.
        """
        lock_path = str(self.path.with_name(f".{self.path.name}.lock"))
        held: set[str] = _held.__dict__.setdefault("paths", set())
        if fcntl is None or lock_path in held:
            yield
            return
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                _log.debug("Waiting for another process writing the registry at %s.", self.path)
                with _reporting_wait(self.path):
                    fcntl.flock(fd, fcntl.LOCK_EX)
            held.add(lock_path)
            try:
                yield
            finally:
                held.discard(lock_path)
        finally:
            os.close(fd)  # which releases the lock

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[Transaction]:
        conn = self._connect()
        try:
            conn.execute(begin)
            tx = Transaction(conn)
            try:
                yield tx
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            tx.committed()
        except sqlite3.Error as exc:
            raise RegistryError(f"The registry at {self.path} could not be used: {exc}.") from exc
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        """Open the file (creating it first when missing) and check its schema once per Registry."""
        if not self.path.exists():
            self._create()
        conn = _open(self.path)
        try:
            if not self._checked:
                self._prepare(conn)
                self._checked = True
        except sqlite3.OperationalError as exc:
            conn.close()
            raise RegistryError(f"The registry at {self.path} could not be used: {exc}.") from exc
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise RegistryError(
                f"The registry at {self.path} cannot be read ({exc}); move it away and cargohold starts a new one."
            ) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _create(self) -> None:
        """Build a whole new registry under a temporary name, then link it into place.

        No process ever sees a half-made file, and none has to switch a shared file into WAL mode
        (a lock SQLite refuses at once, without waiting, while another process holds one). The
        writer lock is held throughout, so any staged file found then is the leftover of a process
        killed while creating, and goes.
        """
        with self._writer_lock():
            if self.path.exists():  # another process made it while this one waited
                return
            self._remove_stale_staging()
            self._create_staged()

    def _staged_names(self) -> Iterator[Path]:
        return self.path.parent.glob(f".{self.path.name}.*.new*")

    def _remove_stale_staging(self) -> None:
        """Remove what a creation killed midway left (the staged file, its -wal and -shm); the caller holds the
        writer lock or the file exists, so no creation is in progress."""
        for leftover in self._staged_names():
            leftover.unlink(missing_ok=True)

    def _create_staged(self) -> None:
        staged = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.new")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            conn = _open(staged)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                self._migrate(conn)
            finally:
                conn.close()
            with contextlib.suppress(FileExistsError):
                os.link(staged, self.path)
        except OSError as exc:
            raise RegistryError(f"Cannot create the registry at {self.path}: {exc.strerror}.") from exc
        except sqlite3.Error as exc:
            raise RegistryError(f"Cannot create the registry at {self.path}: {exc}.") from exc
        finally:
            for leftover in ("", "-wal", "-shm"):
                Path(f"{staged}{leftover}").unlink(missing_ok=True)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Refuse a file of a newer schema, migrate an older one, and drop what a killed creation left."""
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            raise RegistryError(
                f"The registry at {self.path} has schema version {version}, newer than the {SCHEMA_VERSION} "
                "this cargohold understands; upgrade cargohold to use it."
            )
        self._remove_stale_staging()
        if version < SCHEMA_VERSION:
            with self._writer_lock():
                conn.execute("PRAGMA journal_mode = WAL")  # already so, unless the file was made elsewhere
                self._migrate(conn)
        if not Transaction(conn).secrets_sealed():
            with self._writer_lock():
                self._seal_plain_secrets(conn)

    def _seal_plain_secrets(self, conn: sqlite3.Connection) -> None:
        """A registry written before sealing holds plain values: seal them once, then push the old pages out of the
        write-ahead log (deleted content is zeroed: the connection runs with secure_delete)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            Transaction(conn).seal_plain_secrets()
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the file to the current schema in one transaction, seeding the default stack into a new one."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(conn)  # another process may have migrated while this one waited
            if version < SCHEMA_VERSION:
                migrate(conn, version)
                if version == 0:
                    seed(Transaction(conn), self._default_store)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


@contextlib.contextmanager
def _reporting_wait(path: Path) -> Iterator[None]:
    """Say, at each of ``WAIT_REPORT_SECONDS`` and every last interval after, that a writer still waits."""
    done = threading.Event()
    started = time.monotonic()

    def report() -> None:
        first, every = WAIT_REPORT_SECONDS
        pause = first
        while not done.wait(pause):
            _log.warning(
                "Still waiting for another process to finish writing the registry at %s (%.0f s so far).",
                path,
                time.monotonic() - started,
            )
            pause = every

    reporter = threading.Thread(target=report, name="cargohold-registry-wait", daemon=True)
    reporter.start()
    try:
        yield
    finally:
        done.set()
        reporter.join()


def _open(path: Path) -> sqlite3.Connection:
    """A connection that waits for other writers, manages its own transactions and enforces foreign keys."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")  # a replaced secret leaves no old bytes in free pages
    return conn
