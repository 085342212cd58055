"""Records of the uploads in parts this machine's writers have begun, so that only a dead writer's is taken up.

A writer keeps its upload's id in a file under the cache folder and holds an exclusive ``flock`` on it while the
upload runs. The kernel lets go of a process's locks when it ends, ``kill -9`` included: a record that can be
locked is a dead writer's, one that cannot is a live writer's, whose upload nobody else touches.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import uuid
from pathlib import Path

from cargohold import locations

if sys.platform != "win32":  # on Windows no writer is provably dead, so no upload is taken up and none recorded
    import fcntl

__all__ = ["UploadRecord"]

logger = logging.getLogger(__name__)


class UploadRecord:
    """One writer's claim on its upload in parts of a destination, named by strings (an endpoint, a bucket, a key).

    ``dead`` locks the records of the destination's dead writers and gives their upload ids; ``keep`` makes one
    of those, or a new record, this writer's and removes the others; ``drop`` removes it once the upload is
    finished or aborted; ``live`` gives the ids of the uploads that live writers hold. A record that cannot be
    read or written (a read-only cache folder) only costs a resume.
    """

    def __init__(self, *destination: str) -> None:
        self._folder = locations.cache_dir() / "uploads"
        self._prefix = hashlib.sha256("\0".join(destination).encode()).hexdigest()[:32]
        #: The dead writers' records this one holds locked: each one's path and descriptor, by upload id.
        self._dead: dict[str, tuple[Path, int]] = {}
        self._own: tuple[Path, int] | None = None

    def dead(self) -> set[str]:
        """The upload ids the destination's dead writers recorded; their records stay locked by this one."""
        if sys.platform == "win32":
            return set()
        try:
            for path in self._folder.glob(f"{self._prefix}.*"):
                if held := _lock_dead(path):
                    self._dead[held[0]] = (path, held[1])
        except OSError as exc:
            logger.debug("Cannot read the upload records in %s (%s); no upload is taken up.", self._folder, exc)
        return set(self._dead)

    def live(self) -> set[str]:
        """The upload ids the destination's live writers on this machine recorded: uploads cleanup must not abort."""
        if sys.platform == "win32":
            return set()
        try:
            return {upload_id for path in self._folder.glob(f"{self._prefix}.*") if (upload_id := _locked_id(path))}
        except OSError as exc:
            logger.debug("Cannot read the upload records in %s (%s); no upload is known to be live.", self._folder, exc)
            return set()

    def keep(self, upload_id: str) -> None:
        """Record ``upload_id`` as this writer's, in its dead writer's record or a new one; the other dead writers'
        records are removed, and their uploads left to ``abort_incomplete_uploads``."""
        if sys.platform == "win32":
            return
        self._own = self._dead.pop(upload_id, None)
        self._remove_dead()
        if self._own is not None:
            return
        temporary = self._folder / f".{uuid.uuid4().hex}"  # locked before it bears a name others look for
        try:
            self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            logger.debug("Cannot record the upload %s in %s (%s); it cannot be resumed.", upload_id, self._folder, exc)
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, upload_id.encode())
            path = self._folder / f"{self._prefix}.{uuid.uuid4().hex}"
            os.rename(temporary, path)
        except OSError as exc:
            _remove(temporary, fd)
            logger.debug("Cannot record the upload %s in %s (%s); it cannot be resumed.", upload_id, self._folder, exc)
            return
        self._own = (path, fd)

    def drop(self) -> None:
        """Remove this writer's record, and the dead ones it still holds: its upload is finished or aborted."""
        self._remove_dead()
        if self._own is not None:
            _remove(*self._own)
            self._own = None

    def _remove_dead(self) -> None:
        for path, fd in self._dead.values():
            _remove(path, fd)
        self._dead.clear()


def _lock_dead(path: Path) -> tuple[str, int] | None:
    """The upload id in the record at ``path`` and a descriptor locking it, when its writer is dead; else None.

    A record its writer removed after this one opened it is locked unlinked, and skipped.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # removed meanwhile
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        upload_id = os.read(fd, 4096).decode(errors="replace")
        linked = os.fstat(fd).st_nlink > 0
    except BaseException as exc:
        os.close(fd)
        if isinstance(exc, BlockingIOError):  # its writer is alive
            return None
        raise
    if linked and upload_id:
        return upload_id, fd
    os.close(fd)
    return None


def _locked_id(path: Path) -> str:
    """The upload id in the record at ``path`` when its writer holds it locked (is alive), else ``""``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # removed meanwhile: its upload is finished or aborted
        return ""
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.read(fd, 4096).decode(errors="replace")
    finally:
        os.close(fd)  # lets go of a lock taken on a dead writer's record
    return ""


def _remove(path: Path, fd: int) -> None:
    """Remove a record while still holding its lock, so that no writer takes it up in between; then let go."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        logger.debug("Cannot remove the upload record %s (%s).", path, exc)
    finally:
        os.close(fd)
