"""Accounts of a team install: users, groups, roles, API tokens and web sessions (SQLite, ``HOME/accounts.sqlite3``).

- Passwords are stored as Argon2id hashes (argon2-cffi); never in clear.
- API tokens (``sg_`` + 32 random bytes, url-safe) are shown once; only their SHA-256 is stored.
- Web sessions are random ids (SHA-256 stored), with an expiry and a CSRF token.
- Roles: ``admin`` (manage users, sources, re-index) and ``member`` (read what their principals allow).

A user's principals (what they may read) are ``user:NAME``, ``group:G`` for each of their groups, ``email:ADDR``
for each of their addresses, and ``everyone``; see :mod:`spyglass.core.acl`.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from spyglass.core.errors import ConflictError, SpyglassError

ROLES = ("admin", "member")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
LAST_USED_RESOLUTION_S = 60.0
SESSION_TTL_S = 12 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password TEXT,
    groups TEXT NOT NULL DEFAULT '[]',
    emails TEXT NOT NULL DEFAULT '[]',
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    label TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    last_used REAL
);
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY,
    user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires REAL NOT NULL
);
"""


class AccountError(SpyglassError):
    pass


class AccountExistsError(AccountError, ConflictError):
    pass


@dataclass(slots=True)
class User:
    name: str
    role: str = "member"
    groups: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    has_password: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def as_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "groups": self.groups, "emails": self.emails}


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def _hasher():
    try:
        from argon2 import PasswordHasher
    except ImportError as exc:  # pragma: no cover - the server extra installs it
        from spyglass.core.errors import MissingExtraError

        raise MissingExtraError("passwords", "server", "argon2") from exc
    return PasswordHasher()


class _Rows:
    """The rows of one statement, fetched while the connection was held."""

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self.rows = cur.fetchall()
        self.rowcount = cur.rowcount
        self.lastrowid = cur.lastrowid

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return self.rows

    def __iter__(self):
        return iter(self.rows)


class _SerialDB:
    """One SQLite connection shared by the server's request threads: every statement runs, and its rows are read,
    under one lock (a connection used by two threads at once fails with "no more rows available", found by the
    load test)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self.conn = conn
        self.lock = lock

    def execute(self, sql: str, params: tuple | list = ()) -> _Rows:
        with self.lock:
            return _Rows(self.conn.execute(sql, params))

    def executescript(self, sql: str) -> None:
        with self.lock:
            self.conn.executescript(sql)

    def close(self) -> None:
        with self.lock:
            self.conn.close()


class Accounts:
    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.path = home / "accounts.sqlite3"
        self._lock = threading.RLock()
        # several server processes share this file: wait for a writer rather than fail at once
        self.db = _SerialDB(sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10.0),
                            self._lock)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(_SCHEMA)
        self.path.chmod(0o600)
        self._changes = 0  # writes through this connection (SQLite's data_version counts only other connections')

    def close(self) -> None:
        self.db.close()

    # -- users --------------------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str = "member", password: str | None = None,
                 groups: list[str] | None = None, emails: list[str] | None = None) -> User:
        if not NAME_RE.match(name):
            raise AccountError(f"invalid user name {name!r}: lower-case letters, digits, '.', '_' and '-'")
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: use {' or '.join(ROLES)}")
        for g in groups or []:
            if not NAME_RE.match(g):
                raise AccountError(f"invalid group name {g!r}")
        pw = _hasher().hash(password) if password else None
        with self._lock:
            try:
                self.db.execute(
                    "INSERT INTO users(name, role, password, groups, emails, created) VALUES (?,?,?,?,?,?)",
                    (name, role, pw, json.dumps(sorted(set(groups or []))),
                     json.dumps(sorted({e.strip().lower() for e in emails or []})), time.time()))
            except sqlite3.IntegrityError:
                raise AccountExistsError(f"user {name!r} exists: change it with `spyglass users set`") from None
            self._changes += 1
        return self.get(name)  # type: ignore[return-value]

    def update_user(self, name: str, role: str | None = None, groups: list[str] | None = None,
                    emails: list[str] | None = None, password: str | None = None) -> User:
        u = self.get(name)
        if u is None:
            raise AccountError(f"no user {name!r}")
        if role is not None and role not in ROLES:
            raise AccountError(f"unknown role {role!r}: use {' or '.join(ROLES)}")
        with self._lock:
            if role is not None:
                self.db.execute("UPDATE users SET role = ? WHERE name = ?", (role, name))
            if groups is not None:
                self.db.execute("UPDATE users SET groups = ? WHERE name = ?", (json.dumps(sorted(set(groups))), name))
            if emails is not None:
                self.db.execute("UPDATE users SET emails = ? WHERE name = ?",
                                (json.dumps(sorted({e.strip().lower() for e in emails})), name))
            if password is not None:
                self.db.execute("UPDATE users SET password = ? WHERE name = ?", (_hasher().hash(password), name))
                self.db.execute("DELETE FROM sessions WHERE user = ?", (name,))  # a new password ends old sessions
            self._changes += 1
        return self.get(name)  # type: ignore[return-value]

    def remove_user(self, name: str) -> bool:
        with self._lock:
            self._changes += 1
            return self.db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount > 0

    def get(self, name: str) -> User | None:
        r = self.db.execute("SELECT name, role, groups, emails, password IS NOT NULL FROM users WHERE name = ?",
                            (name,)).fetchone()
        if r is None:
            return None
        return User(r[0], r[1], json.loads(r[2]), json.loads(r[3]), bool(r[4]))

    def users(self) -> list[User]:
        names = [r[0] for r in self.db.execute("SELECT name FROM users ORDER BY name")]
        return [u for u in (self.get(n) for n in names) if u is not None]

    def check_password(self, name: str, password: str) -> User | None:
        """The user when the password is theirs; None otherwise (same cost whether or not the user exists)."""
        from argon2.exceptions import VerificationError

        r = self.db.execute("SELECT password FROM users WHERE name = ?", (name,)).fetchone()
        ph = _hasher()
        stored = r[0] if r and r[0] else None
        try:
            ph.verify(stored or _DUMMY_HASH.get(), password)
        except (VerificationError, Exception):
            return None
        if stored is None:
            return None
        return self.get(name)

    # -- tokens -------------------------------------------------------------------------------------------------
    def create_token(self, user: str, label: str = "") -> str:
        if self.get(user) is None:
            raise AccountError(f"no user {user!r}")
        token = "sg_" + secrets.token_urlsafe(32)
        with self._lock:
            self.db.execute("INSERT INTO tokens(hash, user, label, created) VALUES (?,?,?,?)",
                            (_sha(token), user, label, time.time()))
        return token

    def tokens(self, user: str | None = None) -> list[dict]:
        sql = "SELECT substr(hash, 1, 12), user, label, created, last_used FROM tokens"
        rows = self.db.execute(sql + (" WHERE user = ?" if user else "") + " ORDER BY created",
                               (user,) if user else ()).fetchall()
        return [{"id": r[0], "user": r[1], "label": r[2], "created": r[3], "last_used": r[4]} for r in rows]

    def revoke_token(self, token_id: str, user: str | None = None) -> bool:
        """Revoke by the id ``tokens()`` shows (the first 12 hex digits of the hash)."""
        if not re.fullmatch(r"[0-9a-f]{12}", token_id):
            return False
        sql = "DELETE FROM tokens WHERE substr(hash, 1, 12) = ?" + (" AND user = ?" if user else "")
        with self._lock:
            self._changes += 1
            return self.db.execute(sql, (token_id, user) if user else (token_id,)).rowcount > 0

    def user_for_token(self, token: str) -> User | None:
        if not token.startswith("sg_") or len(token) > 200:
            return None
        h = _sha(token)
        r = self.db.execute("SELECT user, last_used FROM tokens WHERE hash = ?", (h,)).fetchone()
        if r is None:
            return None
        now = time.time()
        if now - (r[1] or 0) > LAST_USED_RESOLUTION_S:  # a write per request would serialise every worker
            try:
                with self._lock:
                    self.db.execute("UPDATE tokens SET last_used = ? WHERE hash = ?", (now, h))
            except sqlite3.OperationalError:  # busy: "last used" is informational, the request goes on
                pass
        return self.get(r[0])

    # -- sessions -----------------------------------------------------------------------------------------------
    def create_session(self, user: str, ttl_s: float = SESSION_TTL_S) -> tuple[str, str]:
        """``(session id, csrf token)``."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = time.time()
        with self._lock:
            self.db.execute("DELETE FROM sessions WHERE expires < ?", (now,))
            self.db.execute("INSERT INTO sessions(hash, user, csrf, expires) VALUES (?,?,?,?)",
                            (_sha(sid), user, csrf, now + ttl_s))
        return sid, csrf

    def session(self, sid: str) -> tuple[User, str] | None:
        """``(user, csrf token)`` of a live session."""
        found = self.session_with_expiry(sid)
        return (found[0], found[1]) if found else None

    def session_with_expiry(self, sid: str) -> tuple[User, str, float] | None:
        """``(user, csrf token, expiry as unix seconds)`` of a live session."""
        if not sid or len(sid) > 200:
            return None
        r = self.db.execute("SELECT user, csrf, expires FROM sessions WHERE hash = ?", (_sha(sid),)).fetchone()
        if r is None or r[2] < time.time():
            return None
        u = self.get(r[0])
        return (u, r[1], r[2]) if u else None

    def end_session(self, sid: str) -> None:
        with self._lock:
            self.db.execute("DELETE FROM sessions WHERE hash = ?", (_sha(sid),))
            self._changes += 1

    def version(self) -> tuple[int, int]:
        """Changes whenever users, tokens or sessions change, in this process or another (for caches of callers)."""
        return self.db.execute("PRAGMA data_version").fetchone()[0], self._changes


class _Dummy:
    """A hash to verify against when the user does not exist, so timing does not tell which names exist."""

    _h: str | None = None

    def get(self) -> str:
        if self._h is None:
            self._h = _hasher().hash(secrets.token_urlsafe(16))
        return self._h


_DUMMY_HASH = _Dummy()
