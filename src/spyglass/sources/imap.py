"""IMAP mailboxes (the standard library's ``imaplib``): every selectable folder, one document per message (its
attachments become child documents through the mail extractor), flags in the metadata.

Keys are ``FOLDER/UIDVALIDITY/UID``: a message's UID never changes while the folder's UIDVALIDITY holds, so only new
UIDs are downloaded; when a server resets UIDVALIDITY every old key vanishes and the folder is read afresh. The change
token is the message's flags (a flag change updates the document). Listing uses ``UID FETCH 1:* (FLAGS
RFC822.SIZE)`` per folder; messages are downloaded with ``BODY.PEEK[]`` (never marks them read).

Principals: the mailbox's account (``account`` setting; default ``email:LOGIN`` when the login is an address, else
``imap:LOGIN@HOST``) plus the message's sender and recipients (``email:`` principals, from the mail extractor), plus
the source's owner and readers. Settings: ``user``, ``password_env``/``password_file``, ``folders`` (comma-separated,
default all), ``starttls`` (``true`` to upgrade a plain connection). ``imaps://`` connects with TLS.

Bounded: every socket operation times out; a literal (message) larger than the item limit is refused before it is
read; a server that sends junk or stalls fails the sync with a recorded error.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

from spyglass.core import acl
from spyglass.sources.connector import (
    MAX_ITEM_BYTES,
    ConnectorError,
    Entry,
    Fetched,
    ItemError,
    SourceSpec,
    safe_folder,
    secret,
    timeout_of,
)

_LIST = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<sep>"[^"]*"|NIL) (?P<name>.+)$')
_UID = re.compile(rb"UID (\d+)")
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class _Bounded:
    """Mixin: refuse an IMAP literal over the cap before reading it (imaplib would read any announced size)."""

    max_literal = MAX_ITEM_BYTES

    def read(self, size: int) -> bytes:  # imaplib reads literals through this
        if size > self.max_literal:
            raise ConnectorError(f"the server announced a {size} byte literal, over the {self.max_literal} byte cap")
        return super().read(size)  # type: ignore[misc]


class _IMAP(_Bounded, imaplib.IMAP4):
    pass


class _IMAPS(_Bounded, imaplib.IMAP4_SSL):
    pass


def decode_utf7(name: bytes) -> str:
    """IMAP's modified UTF-7 folder names (RFC 3501 5.1.3) as text."""
    out, i = [], 0
    s = name.decode("ascii", "replace")
    while i < len(s):
        if s[i] == "&":
            j = s.find("-", i)
            if j < 0:
                out.append(s[i:])
                break
            if j == i + 1:
                out.append("&")
            else:
                b64 = s[i + 1:j].replace(",", "/")
                b64 += "=" * (-len(b64) % 4)
                import base64

                try:
                    out.append(base64.b64decode(b64).decode("utf-16-be"))
                except (ValueError, UnicodeDecodeError):
                    out.append(s[i:j + 1])
            i = j + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


class ImapConnector:
    kind = "imap"

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        u = urlsplit(spec.location if "://" in spec.location else f"imap://{spec.location}")
        if u.scheme not in ("imap", "imaps") or not u.hostname:
            raise ConnectorError(f"{spec.location!r}: use imap://HOST[:PORT] or imaps://HOST[:PORT]")
        self.host, self.tls = u.hostname, u.scheme == "imaps"
        self.port = u.port or (993 if self.tls else 143)
        self.user = spec.settings.get("user") or u.username
        if not self.user:
            raise ConnectorError("an IMAP source needs a login: --user NAME")
        self.account = spec.settings.get("account") or (
            acl.email(self.user) if "@" in self.user else f"imap:{self.user}@{self.host}")
        wanted = spec.settings.get("folders") or ""
        self.folders = [f.strip() for f in wanted.split(",") if f.strip()] if isinstance(wanted, str) else list(wanted)
        self.imap: imaplib.IMAP4 | None = None
        self.selected: bytes | None = None

    def _connect(self) -> imaplib.IMAP4:
        if self.imap is not None:
            return self.imap
        password = secret(self.spec.settings)
        try:
            if self.tls:
                m: imaplib.IMAP4 = _IMAPS(self.host, self.port, ssl_context=ssl.create_default_context(),
                                          timeout=timeout_of(self.spec.settings))
            else:
                m = _IMAP(self.host, self.port, timeout=timeout_of(self.spec.settings))
                if str(self.spec.settings.get("starttls", "")).lower() in ("1", "true", "yes"):
                    m.starttls(ssl.create_default_context())
            m.login(self.user, password or "")
        except imaplib.IMAP4.error as exc:
            raise ConnectorError(f"IMAP {self.host}:{self.port}: {_text(exc)}") from None
        except (OSError, EOFError) as exc:
            raise ConnectorError(f"IMAP {self.host}:{self.port}: {type(exc).__name__}: {exc}") from None
        self.imap = m
        return m

    def _cmd(self, fn, *args):
        try:
            typ, data = fn(*args)
        except imaplib.IMAP4.abort as exc:
            raise ConnectorError(f"IMAP connection lost: {_text(exc)}") from None
        except imaplib.IMAP4.error as exc:
            raise ConnectorError(f"IMAP error: {_text(exc)}") from None
        except (OSError, EOFError, ValueError) as exc:
            raise ConnectorError(f"IMAP: {type(exc).__name__}: {exc}") from None
        if typ != "OK":
            raise ConnectorError(f"IMAP {fn.__name__}: {typ} {_text(data)}")
        return data

    def _list_folders(self) -> list[bytes]:
        m = self._connect()
        out = []
        for line in self._cmd(m.list):
            if not isinstance(line, bytes):
                continue
            match = _LIST.match(line)
            if not match or b"\\noselect" in match.group("flags").lower():
                continue
            name = match.group("name").strip()
            if name.startswith(b'"') and name.endswith(b'"'):
                name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
            out.append(name)
        if self.folders:
            out = [f for f in out if decode_utf7(f) in self.folders]
        return out

    def _select(self, folder: bytes) -> int:
        m = self._connect()
        quoted = b'"' + folder.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
        data = self._cmd(m.select, quoted.decode("ascii", "replace"), True)  # read-only (EXAMINE)
        self.selected = folder
        uv = m.untagged_responses.get("UIDVALIDITY", [b"0"])[-1]
        try:
            self.uidvalidity = int(uv)
        except (TypeError, ValueError):
            raise ConnectorError(f"IMAP: a malformed UIDVALIDITY {uv!r}") from None
        try:
            return int(data[0] or 0)
        except (TypeError, ValueError):
            raise ConnectorError(f"IMAP: a malformed message count {data[0]!r}") from None

    def entries(self) -> Iterator[Entry]:
        m = self._connect()
        for folder in self._list_folders():
            exists = self._select(folder)
            if exists == 0:
                continue
            name = decode_utf7(folder)
            for line in self._cmd(m.uid, "FETCH", "1:*", "(FLAGS RFC822.SIZE)"):
                if isinstance(line, tuple):
                    line = line[0]
                if not isinstance(line, bytes):
                    continue
                uid = _UID.search(line)
                if uid is None:
                    continue
                flags = _FLAGS.search(line)
                size = _SIZE.search(line)
                flag_list = sorted((flags.group(1).decode("ascii", "replace").split()) if flags else [])
                yield Entry(key=f"{name}/{self.uidvalidity}/{int(uid.group(1))}", token=" ".join(flag_list) or "-",
                            name=f"{int(uid.group(1))}.eml", folder=safe_folder(name),
                            size=int(size.group(1)) if size else 0,
                            handle=(folder, self.uidvalidity, int(uid.group(1)), flag_list))

    def prefetch(self, entries: list[Entry]) -> None:
        """Download a batch of messages with one ``UID FETCH`` per folder (up to 32 MB a command), instead of one
        round trip per message."""
        self._cache: dict[tuple[bytes, int, int], bytes] = {}
        by_folder: dict[tuple[bytes, int], list[Entry]] = {}
        for e in entries:
            if e.size <= MAX_ITEM_BYTES:
                by_folder.setdefault((e.handle[0], e.handle[1]), []).append(e)
        m = self._connect()
        for (folder, uidvalidity), group in by_folder.items():
            if self.selected != folder:
                self._select(folder)
            if self.uidvalidity != uidvalidity:
                continue
            part: list[int] = []
            total = 0
            for e in group + [None]:  # type: ignore[list-item]
                if e is None or (part and total + e.size > 32 * 1024 * 1024):
                    for d in self._cmd(m.uid, "FETCH", ",".join(map(str, part)), "(BODY.PEEK[])"):
                        uid = _UID.search(d[0]) if isinstance(d, tuple) and isinstance(d[0], bytes) else None
                        if uid is not None and isinstance(d[1], bytes):
                            self._cache[(folder, uidvalidity, int(uid.group(1)))] = d[1]
                    part, total = [], 0
                if e is not None:
                    part.append(e.handle[2])
                    total += e.size

    def fetch(self, entry: Entry) -> Fetched:
        folder, uidvalidity, uid, flags = entry.handle
        if entry.size > MAX_ITEM_BYTES:
            raise ItemError("too-large", f"message of {entry.size} bytes, over the {MAX_ITEM_BYTES} byte limit")
        raw = getattr(self, "_cache", {}).pop((folder, uidvalidity, uid), None)
        if raw is None:
            m = self._connect()
            if self.selected != folder:
                self._select(folder)
            if self.uidvalidity != uidvalidity:
                raise ItemError("changed", "the folder's UIDVALIDITY changed during the sync")
            data = self._cmd(m.uid, "FETCH", str(uid), "(BODY.PEEK[])")
            raw = next((d[1] for d in data if isinstance(d, tuple) and len(d) > 1 and isinstance(d[1], bytes)), None)
        if raw is None:
            raise ItemError("gone", "the message vanished before it was read")
        name = decode_utf7(folder)
        return Fetched(data=raw, name=entry.name, type="email", principals=[self.account],
                       meta={"folder": name, "flags": flags, "uid": uid, "uidvalidity": uidvalidity,
                             "account": self.user},
                       uri=f"imap://{self.user}@{self.host}:{self.port}/{name};UIDVALIDITY={uidvalidity};UID={uid}")

    def close(self) -> None:
        if self.imap is not None:
            try:
                self.imap.logout()
            except Exception:  # a dead connection cannot log out
                pass
            self.imap = None


def _text(x: object) -> str:
    if isinstance(x, (list, tuple)):
        x = b" ".join(v for v in x if isinstance(v, bytes))
    if isinstance(x, bytes):
        x = x.decode("utf-8", "replace")
    return str(x)[:300]
