"""The connector contract: every live source (IMAP, CalDAV/CardDAV, WebDAV, git) and every export reader (Takeout,
Maildir, Thunderbird, Notion, ...) implements :class:`Connector`.

A sync has two steps. ``entries()`` lists what the source holds now — cheap: a stable key and a change token per
item, no content. The sync engine compares the tokens with the ones it stored, asks ``fetch()`` for the content of new
and changed items only, and deletes the items whose keys vanished. A listing that fails part-way raises, and the
engine then changes nothing (a server that is down never empties the index).

Principals (who may read an item) are mapped the same way for every connector:

- every item is readable by the source's ``owner`` principal (``user:NAME`` of whoever added the source, unless
  configured) and by the source's ``readers`` (extra principals granted on the whole source);
- a connector adds what the source itself says about readers (the mailbox account and the recipients of a
  message, the attendees of an event, a channel's members); when it says nothing, nothing is added:
  default-deny, the owner alone reads it.

Credentials come from the source's settings by reference only — ``password_env`` (an environment variable) or
``password_file`` (a file, e.g. mode 600) — and are read at connect time for that source alone. The secret is never
stored in the catalog or the index and never appears in a recorded error (:func:`scrub`).
"""

from __future__ import annotations

import os
import posixpath
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from spyglass.core.errors import SpyglassError

MAX_ITEM_BYTES = 64 * 1024 * 1024  # content fetched for one item (larger: recorded as too-large)
MAX_LISTING = 1_000_000  # entries one listing may return
TIMEOUT_S = 30.0  # per network operation


class ConnectorError(SpyglassError):
    """The source could not be listed (server down, refused login, malformed or oversized answer). The sync of
    that source stops, is marked failing, and nothing indexed from it is touched."""


class ItemError(Exception):
    """One item could not be fetched; it is recorded with ``kind`` and the sync goes on."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(slots=True)
class Entry:
    """One item as listed: no content yet."""

    key: str  # stable within the source (e.g. "INBOX/1700000000/42": folder, UIDVALIDITY, UID)
    token: str  # changes whenever the item does (ETag, flags, blob id, size+mtime)
    name: str  # a display name, never used as a path
    folder: str = ""  # display folder inside the source ("INBOX/Projects", "calendars/work")
    size: int = 0
    modified: float | None = None
    handle: Any = None  # connector-private: what fetch() needs


@dataclass(slots=True)
class Fetched:
    """An item's content and what the source says about it."""

    data: bytes | None = None  # the content, or
    path: str | None = None  # a local file holding it (export readers)
    name: str | None = None  # file name that selects the extractor (defaults to the entry's name)
    type: str | None = None  # a document type to force ("event", "commit", "bookmark"); None: from the name
    extractor: str | None = None  # "module:function" to read it with; None: the one its name selects
    title: str | None = None
    author: str | None = None
    created: float | None = None
    modified: float | None = None
    principals: list[str] = field(default_factory=list)  # readers the source declares (owner/readers are added)
    meta: dict[str, Any] = field(default_factory=dict)
    uri: str | None = None  # where the item lives (shown, and used to fetch it again)
    related: list[str] = field(default_factory=list)  # keys of related items (wiki-links)


class Connector(Protocol):
    """What every source kind implements (see the module docstring)."""

    kind: str

    def entries(self) -> Iterator[Entry]:
        """Everything the source holds now; raises :class:`ConnectorError` when it cannot be listed in full."""
        ...

    def fetch(self, entry: Entry) -> Fetched:
        """One item's content; raises :class:`ItemError` for that item alone, :class:`ConnectorError` when the
        source went away."""
        ...

    def close(self) -> None: ...

    # Optional: ``prefetch(entries)`` — download a batch in one round trip before ``fetch`` is called for each.


@dataclass(slots=True)
class SourceSpec:
    """A connector source as stored (no secrets: only where to find them)."""

    kind: str
    name: str
    location: str  # URL or local path
    settings: dict[str, Any] = field(default_factory=dict)
    owner: str = ""  # principal that always reads every item
    readers: list[str] = field(default_factory=list)
    interval_s: float = 300.0  # how often `watch` and the server sync it


def timeout_of(settings: dict[str, Any]) -> float:
    """The per-operation network timeout of a source (``timeout_s`` setting, default 30 s)."""
    try:
        t = float(settings.get("timeout_s", TIMEOUT_S))
    except (TypeError, ValueError):
        raise ConnectorError(f"timeout_s = {settings.get('timeout_s')!r}: give seconds, e.g. 30") from None
    return min(max(t, 0.1), 600.0)


def secret(settings: dict[str, Any], what: str = "password") -> str | None:
    """The credential a source's settings point at (``password_env`` or ``password_file``), read now."""
    env = settings.get(f"{what}_env")
    if env:
        value = os.environ.get(env)
        if value is None:
            raise ConnectorError(f"the environment variable {env} (set as {what}_env) is not set: "
                                 f"export {env}=... before `spyglass sources sync`")
        return value
    path = settings.get(f"{what}_file")
    if path:
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as fh:
                return fh.read(4096).strip()
        except OSError as exc:
            raise ConnectorError(f"cannot read {what}_file {path}: {exc.strerror}") from None
    return None


def scrub(message: str, secrets: list[str | None]) -> str:
    """A message with every secret replaced (servers echo what they were sent)."""
    for s in secrets:
        if s:
            message = message.replace(s, "***")
    return message[:500]


def safe_name(name: str, limit: int = 255) -> str:
    """A name from inside a source or an export, made harmless to display and to use as one path component:
    no separators, no ``..``, no control characters."""
    name = unicodedata.normalize("NFC", str(name))
    name = "".join(ch for ch in name if ch.isprintable()).replace("/", "∕").replace("\\", "∖").strip()
    if name in ("", ".", ".."):
        name = "_"
    return name[:limit]


def safe_folder(folder: str) -> str:
    """A folder path from inside a source, as ``/``-joined safe names (never climbing out: ``..`` is dropped)."""
    parts = [p for p in folder.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(safe_name(p) for p in parts)


def contained(root: str, rel: str) -> str:
    """``root/rel`` resolved, verified to lie inside ``root`` (symbolic links included); raises ItemError."""
    base = os.path.realpath(root)
    target = os.path.realpath(os.path.join(base, rel))
    if target != base and not target.startswith(base.rstrip("/") + "/"):
        raise ItemError("unsafe-path", f"{rel!r} points outside the source")
    return target


def join_folder(*parts: str) -> str:
    return posixpath.join(*[p for p in parts if p]) if any(parts) else ""
