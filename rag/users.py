"""Accounts of the web app: a JSON file under the index folder, passwords hashed with bcrypt.

The file is the only place accounts live; `rag user …` edits it and the running app re-reads it when it
changes, so a removed account or a new password takes effect at once (its open sessions end too). The file
must be readable by its owner only (mode 0600, as written here): a copy of the hashes is an offline
password-guessing target.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import bcrypt

from rag.errors import AccountError, AccountsFileError

ACCOUNTS_FILE = "users.json"
FORMAT_VERSION = 1
BCRYPT_ROUNDS = 12  # ≈0.2 s a check here: cheap for a login, slow for a guesser with the file
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores anything beyond 72 bytes (bcrypt 5 refuses it): say so, never truncate
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LOCAL_USER = "local"  # who owns conversations when the app runs without accounts (loopback only)


class Role(StrEnum):
    reader = "reader"  # asks questions, keeps its own conversations, gives feedback
    editor = "editor"  # also uploads and deletes corpus files
    admin = "admin"  # also manages accounts

    @property
    def rank(self) -> int:
        return {"reader": 0, "editor": 1, "admin": 2}[self.value]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    password_hash: str
    created_at: float
    password_changed_at: float

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role.value, "password_hash": self.password_hash, "created_at": self.created_at,
                "password_changed_at": self.password_changed_at}


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise AccountError(f"invalid user name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit")
    return name


def check_password(password: str) -> bytes:
    raw = password.encode("utf-8")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password is too short: at least {MIN_PASSWORD_CHARS} characters")
    if len(raw) > MAX_PASSWORD_BYTES:
        raise AccountError(f"the password is too long: at most {MAX_PASSWORD_BYTES} bytes (bcrypt's limit)")
    return raw


def hash_password(password: str) -> str:
    return bcrypt.hashpw(check_password(password), bcrypt.gensalt(BCRYPT_ROUNDS)).decode("ascii")


# Checked when the user name is unknown, so a wrong name costs as long as a wrong password (no name probing).
_DUMMY_HASH = bcrypt.hashpw(b"not a password of anyone", bcrypt.gensalt(BCRYPT_ROUNDS))


class AccountStore:
    """The accounts file of one index folder. Thread-safe; re-reads the file when it changed on disk."""

    def __init__(self, index_dir: Path) -> None:
        self.path = Path(index_dir) / ACCOUNTS_FILE
        self._lock = threading.Lock()
        self._cache: dict[str, Account] = {}
        self._stamp: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------------------------------ reading

    def exists(self) -> bool:
        return self.path.exists()

    def accounts(self) -> dict[str, Account]:
        """All accounts ({} if there is no file). Raises AccountsFileError for an unsafe or damaged file."""
        with self._lock:
            return dict(self._load())

    def _load(self) -> dict[str, Account]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._cache, self._stamp = {}, None
            return self._cache
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise AccountsFileError(
                f"{self.path}: readable or writable by other users (mode {stat.S_IMODE(st.st_mode):o}); "
                f"run `chmod 600 {self.path}`")
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp == self._stamp:
            return self._cache
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
                raise ValueError(f"expected an object with \"version\": {FORMAT_VERSION}")
            users = data.get("users")
            if not isinstance(users, dict):
                raise ValueError('no "users" object')
            parsed = {}
            for name, rec in users.items():
                check_name(name)
                hashed = rec["password_hash"]
                if not isinstance(hashed, str) or not hashed.startswith("$2"):
                    raise ValueError(f"user {name!r}: not a bcrypt hash")
                parsed[name] = Account(name=name, role=Role(rec["role"]), password_hash=hashed,
                                       created_at=float(rec["created_at"]),
                                       password_changed_at=float(rec["password_changed_at"]))
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise AccountsFileError(f"{self.path}: damaged accounts file ({exc}); restore it from a backup "
                                    "or delete it and recreate the accounts with `rag user add`") from None
        self._cache, self._stamp = parsed, stamp
        return parsed

    def get(self, name: str | None) -> Account | None:
        if not name:
            return None
        return self.accounts().get(name)

    # ------------------------------------------------------------------------------------------ checking

    def verify(self, name: str, password: str) -> Account | None:
        """The account if the password is right, else None. Always costs one bcrypt check."""
        account = self.get(name) if NAME_RE.match(name or "") else None
        raw = password.encode("utf-8")
        if len(raw) > MAX_PASSWORD_BYTES:  # never stored: cannot match (and bcrypt 5 refuses it)
            raw = raw[:0]
        hashed = account.password_hash.encode("ascii") if account else _DUMMY_HASH
        ok = bcrypt.checkpw(raw, hashed)
        return account if ok and account else None

    def session_valid(self, name: str, issued_at: float) -> bool:
        """A session stays valid while its account exists and its password is older than the session."""
        try:
            account = self.get(name)
        except AccountsFileError:
            return False  # a damaged file ends every session rather than trusting a stale copy
        return account is not None and account.password_changed_at <= issued_at

    # ------------------------------------------------------------------------------------------ writing

    def add(self, name: str, role: Role, password: str) -> Account:
        check_name(name)
        hashed = hash_password(password)
        with self._lock:
            accounts = dict(self._load())
            if name in accounts:
                raise AccountError(f"user {name!r} exists: use `rag user passwd {name}` to change the password")
            now = time.time()
            accounts[name] = Account(name, role, hashed, now, now)
            self._write(accounts)
            return accounts[name]

    def remove(self, name: str) -> None:
        with self._lock:
            accounts = dict(self._load())
            if name not in accounts:
                raise AccountError(f"no user {name!r}")
            del accounts[name]
            self._write(accounts)

    def set_password(self, name: str, password: str) -> None:
        hashed = hash_password(password)
        with self._lock:
            accounts = dict(self._load())
            if name not in accounts:
                raise AccountError(f"no user {name!r}")
            old = accounts[name]
            # Sessions issued before this instant end (session_valid); a later login is not affected.
            accounts[name] = Account(name, old.role, hashed, old.created_at, time.time())
            self._write(accounts)

    def set_role(self, name: str, role: Role) -> None:
        with self._lock:
            accounts = dict(self._load())
            if name not in accounts:
                raise AccountError(f"no user {name!r}")
            old = accounts[name]
            accounts[name] = Account(name, role, old.password_hash, old.created_at, old.password_changed_at)
            self._write(accounts)

    def _write(self, accounts: dict[str, Account]) -> None:
        """Atomic replace of a 0600 file: a crash or a full disk leaves the old file whole."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": FORMAT_VERSION, "users": {n: a.to_json() for n, a in sorted(accounts.items())}}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{ACCOUNTS_FILE}.", suffix=".part")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                os.fchmod(fh.fileno(), 0o600)
                json.dump(data, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._stamp = None
        self._load()
