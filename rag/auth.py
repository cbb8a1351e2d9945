"""Who may use the web app and for what: the access policy, login throttling and expiring sessions.

Free of any web framework: ui/auth.py plugs these into Gradio. Every permission is decided here, on the
server, for each request; the page only hides what a role may not use.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rag.errors import AccessDenied, AccountError, AccountsRequired
from rag.settings import Settings
from rag.users import LOCAL_USER, AccountStore, Role

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything: treat it as the network


@dataclass(frozen=True)
class Principal:
    """The user behind one request."""

    name: str
    role: Role

    def can(self, needed: Role) -> bool:
        return self.role.allows(needed)


LOCAL_PRINCIPAL = Principal(LOCAL_USER, Role.admin)


class AccessPolicy:
    """Accounts on or off for one running app, and the role of each request's user.

    - accounts exist: everyone logs in, wherever the app listens;
    - no accounts, bound to loopback: no login, one local user with every permission (a laptop);
    - no accounts, bound to another address: the app refuses to start (check_startup)."""

    def __init__(self, settings: Settings, store: AccountStore | None = None) -> None:
        self.settings = settings
        self.store = store or AccountStore(settings.index_dir)
        self.accounts_on = bool(self.store.accounts())  # raises AccountsFileError for an unsafe/damaged file

    def check_startup(self) -> None:
        if not self.accounts_on and not is_loopback(self.settings.host):
            raise AccountsRequired(
                f"refusing to listen on {self.settings.host} without accounts: create one with "
                f"`rag --index {self.settings.index_dir} user add NAME --role admin` (or bind to 127.0.0.1)")

    def principal(self, username: str | None) -> Principal | None:
        """The request's user, or None if it is not logged in (or its account was removed meanwhile)."""
        if not self.accounts_on:
            return LOCAL_PRINCIPAL
        account = self.store.get(username) if username else None
        return Principal(account.name, account.role) if account else None

    def require(self, username: str | None, needed: Role) -> Principal:
        who = self.principal(username)
        if who is None:
            raise AccessDenied("not logged in (or the session expired): reload the page and log in")
        if not who.can(needed):
            raise AccessDenied(f"{who.name} is a {who.role.value}: this needs the {needed.value} role")
        return who


class LoginThrottle:
    """Slows down password guessing: after `free_failures` failed logins for one user name, or from one client
    address, further attempts for it are refused unchecked until a lock-out that doubles with each failure
    (capped) has passed. A success clears the user's and the address's count."""

    def __init__(self, free_failures: int = 5, base_delay_s: float = 1.0, max_delay_s: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free_failures = free_failures
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (count, locked until)

    @staticmethod
    def keys(username: str, address: str | None) -> list[str]:
        return [f"user:{username.lower()}"] + ([f"addr:{address}"] if address else [])

    def wait_s(self, username: str, address: str | None) -> float:
        """Seconds until an attempt for this user from this address will be checked (0: now)."""
        now = self.clock()
        with self._lock:
            return max([0.0] + [self._failures.get(k, (0, 0.0))[1] - now for k in self.keys(username, address)])

    def failed(self, username: str, address: str | None) -> None:
        now = self.clock()
        with self._lock:
            self._prune(now)
            for key in self.keys(username, address):
                count = self._failures.get(key, (0, 0.0))[0] + 1
                over = count - self.free_failures
                until = now + min(self.base_delay_s * 2 ** (over - 1), self.max_delay_s) if over > 0 else 0.0
                self._failures[key] = (count, until)

    def succeeded(self, username: str, address: str | None) -> None:
        with self._lock:
            for key in self.keys(username, address):
                self._failures.pop(key, None)

    def _prune(self, now: float) -> None:
        # Bounded memory under a flood of made-up names: forget entries whose lock-out ended long ago.
        if len(self._failures) > 10_000:
            for key, (_, until) in list(self._failures.items()):
                if until + self.max_delay_s < now:
                    del self._failures[key]


class Authenticator:
    """Checks one login: throttle first (no password check while locked out), then the password."""

    def __init__(self, store: AccountStore, throttle: LoginThrottle) -> None:
        self.store = store
        self.throttle = throttle

    def check(self, username: str, password: str, address: str | None) -> bool:
        wait = self.throttle.wait_s(username, address)
        if wait > 0:
            log.warning("login for %r from %s refused: locked out for %.0f s more", username[:64], address, wait)
            return False
        try:
            account = self.store.verify(username, password)
        except AccountError as exc:  # e.g. the file was damaged while the app runs
            log.error("login refused: %s", exc)
            return False
        if account is None:
            self.throttle.failed(username, address)
            log.warning("failed login for %r from %s", username[:64], address)
            return False
        self.throttle.succeeded(username, address)
        return True


class ExpiringTokens(dict):
    """Session tokens (token -> user name) that end `ttl_s` after login, or when the account is removed or its
    password changed. Gradio keeps its login sessions in a plain dict it reads with .get(); this dict answers
    None for an ended session, so every guarded route treats it as logged out."""

    def __init__(self, ttl_s: float, still_valid: Callable[[str, float], bool],
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.ttl_s = ttl_s
        self.still_valid = still_valid
        self.clock = clock
        self.issued: dict[str, float] = {}

    def __setitem__(self, token: str, user: str) -> None:
        now = self.clock()
        for old, at in list(self.issued.items()):  # drop ended sessions: memory stays bounded
            if now - at > self.ttl_s:
                self.pop(old, None)
        self.issued[token] = now
        super().__setitem__(token, user)

    def __delitem__(self, token: str) -> None:
        self.issued.pop(token, None)
        super().__delitem__(token)

    def pop(self, token: str, *default: object) -> object:  # type: ignore[override]
        self.issued.pop(token, None)
        return super().pop(token, *default)

    def get(self, token: object, default: object = None) -> object:  # type: ignore[override]
        if not isinstance(token, str) or token not in self:
            return default
        user = super().__getitem__(token)
        issued = self.issued.get(token, 0.0)
        if self.clock() - issued > self.ttl_s or not self.still_valid(user, issued):
            self.pop(token, None)
            return default
        return user
