"""Encryption at rest of personal data: one keyring, SQLAlchemy column types, keyed lookups.

Every personal field of the app's database (message text, intake answers, names, contact
addresses, caseworker notes and replies...) is a column of type ``EncryptedText`` or
``EncryptedJSON``: the rest of the code reads and writes plain values, and the database only
ever sees Fernet tokens (AES-128-CBC + HMAC-SHA256, authenticated: a changed byte fails to
decrypt instead of decrypting to something else). Rasa's tracker store uses the same keyring
(``bot/rasa_plugins/encrypted_tracker_store.py``).

Keys, newest first (``MultiFernet``: the first encrypts, every one decrypts, so old rows stay
readable after a rotation until ``intake keys rotate`` re-encrypts them):

- ``INTAKE_DATA_KEYS`` (comma-separated Fernet keys) and ``INTAKE_LOOKUP_KEY``, or
- a key file (``INTAKE_DATA_KEY_FILE``, default ``$INTAKE_DATA_DIR/keys/data.key``, mode 0600).
  When neither is configured, the first run creates the default key file and logs that it did.

A contact is found by its address through ``lookup_hash`` (HMAC-SHA256 under the separate lookup
key), never by comparing plaintext: the database holds no address it could be searched by.

This module runs in both environments (the app's Python 3.11 / SQLAlchemy 2 and Rasa's
Python 3.10 / SQLAlchemy 1.4): standard library, ``cryptography`` and SQLAlchemy types only.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.sql import operators
from sqlalchemy.types import Text, TypeDecorator

log = logging.getLogger(__name__)

ENV_DATA_KEYS = "INTAKE_DATA_KEYS"
ENV_LOOKUP_KEY = "INTAKE_LOOKUP_KEY"
ENV_KEY_FILE = "INTAKE_DATA_KEY_FILE"
DEFAULT_KEY_FILE = Path("keys") / "data.key"  # under the data directory
LOOKUP_KEY_BYTES = 32

KEY_FILE_HEADER = """\
# Keys of the intake assistant's data at rest (bot/crypto.py). Keep this file secret, readable
# by the service account only, and backed up apart from the database: without it the database
# cannot be read. `intake keys rotate` adds a new data key at the top; older ones still decrypt.
"""


class KeyConfigError(ValueError):
    """The keys are missing or malformed; ``problems`` has one line per problem (they become a
    ``SettingsError`` for the operator)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class DecryptionError(ValueError):
    """A stored value did not decrypt with any key: tampered with, or the wrong keys."""


def new_data_key() -> str:
    return Fernet.generate_key().decode("ascii")


def new_lookup_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(LOOKUP_KEY_BYTES)).decode("ascii")


def data_key_problem(key: str) -> str | None:
    """Why ``key`` is not a Fernet key (32 bytes, URL-safe base64), or None."""
    try:
        raw = base64.b64decode(key.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return "is not URL-safe base64"
    if len(raw) != 32:
        return f"decodes to {len(raw)} bytes, not 32"
    return None


def lookup_key_problem(key: str) -> str | None:
    try:
        raw = base64.b64decode(key.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return "is not URL-safe base64"
    if len(raw) < LOOKUP_KEY_BYTES:
        return f"decodes to {len(raw)} bytes, at least {LOOKUP_KEY_BYTES} needed"
    return None


def key_id(key: str) -> str:
    """A short public name of a key (the first 8 hex digits of its SHA-256): safe to print."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()[:8]


@dataclass(frozen=True)
class Keyring:
    """The data keys (newest first) and the lookup key, with where they came from."""

    data_keys: tuple[str, ...]
    lookup_key: str
    source: str = "memory"  # "environment", or the key file's path

    def __post_init__(self) -> None:
        problems = [
            f"data key {i + 1} {p}"
            for i, k in enumerate(self.data_keys)
            if (p := data_key_problem(k)) is not None
        ]
        if not self.data_keys:
            problems.append("no data key")
        if (p := lookup_key_problem(self.lookup_key)) is not None:
            problems.append(f"the lookup key {p}")
        if problems:
            raise KeyConfigError(problems)
        object.__setattr__(self, "_fernet", MultiFernet([Fernet(k) for k in self.data_keys]))
        object.__setattr__(self, "_primary", Fernet(self.data_keys[0]))
        object.__setattr__(
            self, "_lookup", base64.urlsafe_b64decode(self.lookup_key.encode("ascii"))
        )

    @classmethod
    def generate(cls, source: str = "memory") -> Keyring:
        return cls((new_data_key(),), new_lookup_key(), source)

    def with_new_primary(self, key: str | None = None) -> Keyring:
        return Keyring((key or new_data_key(), *self.data_keys), self.lookup_key, self.source)

    @property
    def primary_id(self) -> str:
        return key_id(self.data_keys[0])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")  # type: ignore[attr-defined]

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")  # type: ignore[attr-defined]
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise DecryptionError(
                "a stored value does not decrypt with any data key (wrong keys, or tampered)"
            ) from exc

    def is_current(self, token: str) -> bool:
        """True when ``token`` is encrypted under the primary key (nothing to re-encrypt)."""
        try:
            self._primary.decrypt(token.encode("ascii"))  # type: ignore[attr-defined]
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def reencrypt(self, token: str) -> str:
        """The same plaintext under the primary key (decrypts with any key)."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")  # type: ignore[attr-defined]
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise DecryptionError("a stored value does not decrypt with any data key") from exc

    def lookup_hash(self, value: str) -> str:
        """HMAC-SHA256 of ``value`` under the lookup key (hex): equal values, equal hashes."""
        return hmac.new(self._lookup, value.encode("utf-8"), hashlib.sha256).hexdigest()  # type: ignore[attr-defined]

    def environ(self) -> dict[str, str]:
        """The variables that give a child process (Rasa, the action server) these keys."""
        return {ENV_DATA_KEYS: ",".join(self.data_keys), ENV_LOOKUP_KEY: self.lookup_key}

    def key_file_text(self) -> str:
        lines = [f"lookup-key {self.lookup_key}", *(f"data-key {k}" for k in self.data_keys)]
        return KEY_FILE_HEADER + "\n".join(lines) + "\n"


# --- where the keys come from -------------------------------------------------------------------


def parse_key_list(raw: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in raw.split(",") if k.strip())


def read_key_file(path: Path) -> Keyring:
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyConfigError([f"key file {path} cannot be read: {exc.__class__.__name__}"]) from exc
    data_keys: list[str] = []
    lookup: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition(" ")
        value = value.strip()
        if name == "data-key" and value:
            data_keys.append(value)
        elif name == "lookup-key" and value:
            lookup.append(value)
        else:
            problems.append(f"key file {path} line {number}: expected 'data-key <key>' or "
                            "'lookup-key <key>'")  # fmt: skip
    if len(lookup) != 1:
        problems.append(f"key file {path} must have exactly one lookup-key line")
    if problems:
        raise KeyConfigError(problems)
    try:
        return Keyring(tuple(data_keys), lookup[0], str(path))
    except KeyConfigError as exc:
        raise KeyConfigError([f"key file {path}: {p}" for p in exc.problems]) from None


def write_key_file(path: Path, keyring: Keyring, *, replace: bool) -> None:
    """Write the key file with mode 0600 (its directory 0700). ``replace``: atomically over an
    existing file (rotation); otherwise only if none exists (FileExistsError)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = path.with_name(path.name + ".new") if replace else path
    if replace:
        target.unlink(missing_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(keyring.key_file_text())
        out.flush()
        os.fsync(out.fileno())
    if replace:
        os.replace(target, path)


def load_keyring(
    data_keys: tuple[str, ...],
    lookup_key: str,
    key_file: Path,
    *,
    default_key_file: Path,
    create: bool,
) -> Keyring:
    """The keyring from the environment's keys, else the key file; creates the default key file
    when ``create`` and nothing is configured. Raises ``KeyConfigError``."""
    if data_keys or lookup_key:
        if not (data_keys and lookup_key):
            raise KeyConfigError([f"{ENV_DATA_KEYS} and {ENV_LOOKUP_KEY} must be set together"])
        try:
            return Keyring(data_keys, lookup_key, "environment")
        except KeyConfigError as exc:
            names = {"data": ENV_DATA_KEYS, "the lookup key": ENV_LOOKUP_KEY}
            raise KeyConfigError(
                [
                    next((f"{v}: {p}" for k, v in names.items() if p.startswith(k)), p)
                    for p in exc.problems
                ]
            ) from None
    if key_file.exists():
        return read_key_file(key_file)
    if not create or key_file.resolve() != default_key_file.resolve():
        raise KeyConfigError(
            [
                f"no data keys: set {ENV_DATA_KEYS} and {ENV_LOOKUP_KEY}, or create the key "
                f"file {key_file} (`intake keys init`)"
            ]
        )
    keyring = Keyring.generate(str(key_file))
    try:
        write_key_file(key_file, keyring, replace=False)
    except FileExistsError:  # another process created it first
        return read_key_file(key_file)
    log.warning(
        "created a new data key file at %s (mode 0600): back it up apart from the database; "
        "without it the stored conversations cannot be read",
        key_file,
    )
    return keyring


def keyring_from_environ(environ: Mapping[str, str], *, create: bool = False) -> Keyring:
    """The keyring as a process started by the app sees it (Rasa, the action server)."""
    data_dir = Path(environ.get("INTAKE_DATA_DIR", "").strip() or "var").resolve()
    default = data_dir / DEFAULT_KEY_FILE
    return load_keyring(
        parse_key_list(environ.get(ENV_DATA_KEYS, "")),
        environ.get(ENV_LOOKUP_KEY, "").strip(),
        Path(environ.get(ENV_KEY_FILE, "").strip() or default),
        default_key_file=default,
        create=create,
    )


# --- the process's keyring ----------------------------------------------------------------------
# Column types are declared once, at import; the keys are known only at start-up. The entry
# points (the app, the CLI, the action server, Alembic, Rasa's tracker store) install the
# keyring once; the column types read it when they bind or load a value.

_installed: Keyring | None = None


def install(keyring: Keyring) -> None:
    global _installed
    _installed = keyring


def installed() -> Keyring | None:
    return _installed


def current() -> Keyring:
    if _installed is None:
        raise RuntimeError("no data keys loaded in this process (bot.crypto.install)")
    return _installed


@contextlib.contextmanager
def using(keyring: Keyring) -> Iterator[Keyring]:
    """Install ``keyring`` for a block, then restore the previous one (tests, rotation)."""
    global _installed
    previous = _installed
    _installed = keyring
    try:
        yield keyring
    finally:
        _installed = previous


def lookup_hash(value: str) -> str:
    return current().lookup_hash(value)


# --- column types -------------------------------------------------------------------------------


class _NoComparison(TypeDecorator.Comparator):  # type: ignore[name-defined,misc]
    """A comparison in SQL with an encrypted column would compare against a fresh random token
    and silently match nothing: it is refused (``IS NULL`` excepted)."""

    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        if op in (operators.is_, operators.is_not):
            return super().operate(op, *other, **kwargs)
        raise TypeError(
            "an encrypted column cannot be compared or searched in SQL: find rows by a lookup "
            "hash (Contact.matches) or by id"
        )

    def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> Any:
        return self.operate(op, other, **kwargs)


class EncryptedText(TypeDecorator):  # type: ignore[type-arg]
    """A ``str`` column stored as a Fernet token (TEXT). Cannot be searched or compared in SQL."""

    impl = Text
    cache_ok = True
    comparator_factory = _NoComparison

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return current().encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return current().decrypt(value)


class EncryptedJSON(TypeDecorator):  # type: ignore[type-arg]
    """A JSON value (dict, list...) stored as a Fernet token of its JSON text (TEXT)."""

    impl = Text
    cache_ok = True
    comparator_factory = _NoComparison

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return current().encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return json.loads(current().decrypt(value))


# --- the app's settings -------------------------------------------------------------------------


def keyring_for(settings: Any, *, create: bool) -> Keyring:
    """The keyring of ``settings`` (``bot.settings.Settings``); a missing or malformed key is a
    ``SettingsError``. ``create``: make the default key file if nothing is configured."""
    from bot.settings import SettingsError

    try:
        return load_keyring(
            settings.data_keys,
            settings.lookup_key,
            settings.data_key_file,
            default_key_file=settings.data_dir / DEFAULT_KEY_FILE,
            create=create,
        )
    except KeyConfigError as exc:
        raise SettingsError(exc.problems) from None


def ensure_installed(settings: Any, *, create: bool = True) -> Keyring:
    """The process's keyring, loaded from ``settings`` the first time (every entry point calls
    this; a keyring installed earlier, by the CLI or a test, is kept)."""
    if _installed is None:
        install(keyring_for(settings, create=create))
    return current()


# --- re-encrypting stored rows (migration 0006, `intake keys rotate`, Rasa's events) ---------


def is_token(keyring: Keyring, value: str) -> bool:
    """True when ``value`` is one of our tokens (decrypts with some data key)."""
    if not value.startswith("gAAAAA"):  # every Fernet token starts so (version byte + time)
        return False
    try:
        keyring.decrypt(value)
    except DecryptionError:
        return False
    return True


def reencrypt_column(
    conn: Any,
    table: str,
    column: str,
    keyring: Keyring,
    *,
    mode: str,
    batch: int = 500,
    key: str = "id",
) -> int:
    """Rewrite one column of every row, ``batch`` rows per query; returns how many changed.

    ``mode="encrypt"``: plaintext values become tokens (tokens are left alone: safe to re-run);
    ``mode="rotate"``: tokens not under the primary key are re-encrypted under it;
    ``mode="decrypt"``: tokens become plaintext again (the migration's downgrade).
    ``conn`` is a SQLAlchemy connection in a transaction (SQLAlchemy 1.4 or 2: core text only).
    """
    from sqlalchemy import text

    if mode not in ("encrypt", "rotate", "decrypt"):
        raise ValueError(mode)
    update = text(f"UPDATE {table} SET {column} = :value WHERE {key} = :key")  # noqa: S608
    changed = 0
    last: Any = None
    while True:
        after = "" if last is None else f" AND {key} > :last"
        if mode != "rotate":  # only the rows that can change (tokens all start so)
            after += f" AND {column} {'NOT ' if mode == 'encrypt' else ''}LIKE 'gAAAAA%'"
        rows = conn.execute(
            text(
                f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL{after}"  # noqa: S608 - our names
                f" ORDER BY {key} LIMIT {int(batch)}"
            ),
            {} if last is None else {"last": last},
        ).fetchall()
        if not rows:
            return changed
        updates = []
        for row_key, value in rows:
            if mode == "encrypt" and not is_token(keyring, value):
                updates.append({"key": row_key, "value": keyring.encrypt(value)})
            elif mode == "rotate" and not keyring.is_current(value):
                updates.append({"key": row_key, "value": keyring.reencrypt(value)})
            elif mode == "decrypt" and is_token(keyring, value):
                updates.append({"key": row_key, "value": keyring.decrypt(value)})
        if updates:
            conn.execute(update, updates)
            changed += len(updates)
        last = rows[-1][0]
