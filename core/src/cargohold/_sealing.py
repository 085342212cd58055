"""The built-in secrets backend: the registry keeps each value as a Fernet token, never as plain text.

The key is looked for in the OS keyring (through ``keyring``, where it is installed and has a usable
backend), then in ``CARGOHOLD_SECRETS_KEY``, then in a key file (mode 0600) in the user's config
folder, which is created on first use. A key source may hold several keys, newest first: a rotation
writes the new key in front of the old one, re-seals every value, then drops the old key, so a crash
at any point leaves every value readable. cryptography (and keyring) are imported only here, on first use.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cargohold import locations
from cargohold.exceptions import CargoholdError
from cargohold.secrets import SecretsBackend

__all__ = ["SEALED", "FernetBackend", "SecretsKeyError", "is_sealed", "rotation"]

_NOT_LOOKED = object()
_keyring_module: Any = _NOT_LOOKED  # the keyring module once looked for: None when it is missing or unusable

KEY_VARIABLE = "CARGOHOLD_SECRETS_KEY"
_KEYRING_SERVICE, _KEYRING_ENTRY = "cargohold", "secrets-key"


class SecretsKeyError(CargoholdError):
    """The key that seals the registry's secret values is missing, wrong or cannot be kept."""


@dataclass
class _Keys:
    """The keys of one source, newest first, and how to keep a new list there (None: the source is read-only)."""

    keys: tuple[str, ...]
    source: str
    save: Callable[[list[str]], None] | None


class FernetBackend(SecretsBackend):
    """The built-in backend: each value sealed with the newest key, kept in the registry's own row."""

    name = "fernet"
    description = "built in: each value encrypted (Fernet) in the registry, its key kept outside it"

    def store(self, secret_id: str, values: Mapping[str, str]) -> dict[str, str]:
        """Each value sealed with the newest key (read once for them all)."""
        box = _fernet(_keys(create=True))
        return {key: box.encrypt(value.encode()).decode() for key, value in values.items()}

    def load(self, secret_id: str, stored: Mapping[str, str]) -> dict[str, str]:
        """Each token opened with whichever of the source's keys sealed it."""
        from cryptography.fernet import InvalidToken

        keys = _keys(create=False)
        box = _fernet(keys)
        try:
            return {key: box.decrypt(token.encode()).decode() for key, token in stored.items()}
        except InvalidToken:
            raise SecretsKeyError(
                f"The registry's secret values cannot be decrypted with the key from {keys.source}: it is not the "
                f"key they were sealed with; restore that key there (or set {KEY_VARIABLE} to it)."
            ) from None


#: What a sealed value starts with (the backend's name); a value without it was written before sealing existed.
SEALED = f"{FernetBackend.name}:"


def is_sealed(stored: str) -> bool:
    """Whether a stored value is sealed (rather than plain text from before sealing existed)."""
    return stored.startswith(SEALED)


@contextlib.contextmanager
def rotation() -> Iterator[str]:
    """A new key goes in front of the current ones for the body, which re-seals every value and commits; only
    then are the old keys dropped. Yields where the key is kept."""
    keys = _keys(create=True)
    if keys.save is None:
        raise SecretsKeyError(
            f"The secrets key comes from {keys.source}, which cargohold cannot change; unset {KEY_VARIABLE} to let "
            "cargohold keep its key in the keyring or its key file, or rotate that variable yourself."
        )
    new = _new_key()
    keys.save([new, *keys.keys])
    yield keys.source
    keys.save([new])


@functools.lru_cache(maxsize=4)
def _multi(keys: tuple[str, ...]) -> Any:
    from cryptography.fernet import Fernet, MultiFernet

    return MultiFernet([Fernet(key.encode()) for key in keys])


def _fernet(keys: _Keys) -> Any:
    try:
        return _multi(keys.keys)
    except ValueError:
        raise SecretsKeyError(
            f"The secrets key from {keys.source} is not a key cargohold made (32 url-safe base64-encoded bytes); "
            "restore the key the registry's secrets were sealed with."
        ) from None


def _new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _keys(create: bool) -> _Keys:
    """The first source that holds a key, read afresh each time (another process may have rotated it); with
    ``create``, a new key is kept in the first source that can keep one."""
    keyring = _keyring()
    variable = os.environ.get(KEY_VARIABLE, "").strip()
    file = locations.config_dir() / "secrets.key"
    stored = keyring.get_password(_KEYRING_SERVICE, _KEYRING_ENTRY) if keyring is not None else None
    if stored:
        return _Keys(tuple(stored.split(",")), "the OS keyring", lambda keys: _keep_in_keyring(keyring, keys))
    if variable:
        return _Keys(tuple(variable.split(",")), KEY_VARIABLE, None)
    if file.is_file():
        return _Keys(tuple(file.read_text().split()), str(file), lambda keys: _write_key_file(file, keys))
    if not create:
        raise SecretsKeyError(
            "The registry's secrets are sealed, and no key was found: looked in the OS keyring "
            f"({'empty' if keyring is not None else 'none usable'}), {KEY_VARIABLE} (unset) and {file} (missing); "
            "restore the key they were sealed with in one of these places."
        )
    if keyring is not None:
        _keep_in_keyring(keyring, [_new_key()])
    else:
        _create_key_file(file)
    return _keys(create=False)


def _keyring() -> Any:
    """The ``keyring`` module when it is installed and its backend really keeps passwords, else None; looked for
    once per process."""
    global _keyring_module
    if _keyring_module is _NOT_LOOKED:
        try:
            import keyring
        except ImportError:
            _keyring_module = None
        else:  # the fail and null backends have no priority
            _keyring_module = keyring if getattr(keyring.get_keyring(), "priority", 0) > 0 else None
    return _keyring_module


def _keep_in_keyring(keyring: Any, keys: list[str]) -> None:
    keyring.set_password(_KEYRING_SERVICE, _KEYRING_ENTRY, ",".join(keys))


def _create_key_file(file: Path) -> None:
    """A new key in a new 0600 file; when another process made one first, its key is the one."""
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged = _staged_beside(file, _new_key())
    try:
        os.link(staged, file)
    except FileExistsError:
        pass
    finally:
        staged.unlink()


def _write_key_file(file: Path, keys: list[str]) -> None:
    """Replace the key file's keys at once (a reader sees the old list or the new one)."""
    os.replace(_staged_beside(file, "\n".join(keys)), file)


def _staged_beside(file: Path, text: str) -> Path:
    """``text`` in a new private file beside ``file``, on disk before it is named."""
    staged = file.with_name(f".{file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
        out.flush()
        os.fsync(out.fileno())
    return staged
