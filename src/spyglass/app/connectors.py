"""Connector sources from the app's side: add, list, remove, sync now, sync what is due (``watch`` and the server
run :func:`sync_due` on a timer, each source at its own interval)."""

from __future__ import annotations

import getpass
import os
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from spyglass.core import acl
from spyglass.core.errors import SpyglassError
from spyglass.index.connector_sync import (
    ConnectorStore,
    connector_sources,
    due,
    sync_connector,
)
from spyglass.index.pipeline import Indexer, RunStats
from spyglass.sources.connector import SourceSpec
from spyglass.sources.registry import KINDS, is_live

if TYPE_CHECKING:
    from spyglass.app.spyglass import Spyglass

SECRET_KEYS = ("password", "token", "secret", "api_key")


def source_root(kind: str, location: str, user: str | None = None) -> str:
    """The catalog's identity of a connector source: a URL as given (with the login, so that two accounts on one
    server are two sources), a local path made absolute."""
    if "://" in location:
        scheme, _, rest = location.rstrip("/").partition("://")
        host, slash, path = rest.partition("/")
        if user and "@" not in host:
            host = f"{quote(user, safe='')}@{host}"
        return f"{scheme}://{host}{slash}{path}"
    return os.path.abspath(os.path.expanduser(location))


def add_source(sg: Spyglass, kind: str, location: str, name: str | None = None,
               settings: dict[str, Any] | None = None, owner: str | None = None, readers: list[str] | None = None,
               interval_s: float = 300.0) -> dict[str, Any]:
    """Register a connector source (it is synced by `spyglass sources sync`, `index`, `watch` and the server)."""
    if kind not in KINDS:
        raise SpyglassError(f"unknown source kind {kind!r}: use one of {', '.join(sorted(KINDS))}")
    settings = dict(settings or {})
    leaked = [k for k in settings if k in SECRET_KEYS]
    if leaked:
        raise SpyglassError(f"{', '.join(leaked)}: a secret is never stored; give its environment variable "
                            "(--password-env NAME) or a file holding it (--password-file PATH)")
    if "://" in location and urlsplit(location).password is not None:
        raise SpyglassError("a password in the URL would be stored: remove it and give --password-env NAME or "
                            "--password-file PATH")
    root = source_root(kind, location, settings.get("user"))
    if "://" not in location and not os.path.exists(root):
        raise SpyglassError(f"{root}: no such file or folder")
    if interval_s < 1:
        raise SpyglassError("--interval must be at least 1 second")
    spec = SourceSpec(kind, name or _default_name(kind, root), location if "://" in location else root, settings,
                      owner or acl.user(getpass.getuser()), list(readers or []), float(interval_s))
    with sg.open_writer() as data:
        existing = data.catalog.source_by_root(root)
        if existing is not None and existing.kind != kind:
            raise SpyglassError(f"{root} is already a {existing.kind} source: `spyglass sources remove {existing.id}` "
                                "first")
        data.catalog.begin()
        src = data.catalog.add_source(kind, root, spec.name)
        ConnectorStore(data.catalog.db).add(src.id, spec)
        data.catalog.commit()
    return {"id": src.id, "kind": kind, "name": spec.name, "location": spec.location, "owner": spec.owner,
            "readers": spec.readers, "interval_s": spec.interval_s}


def _default_name(kind: str, root: str) -> str:
    tail = root.rstrip("/").rsplit("/", 1)[-1] or root
    return f"{kind}:{tail}"


def list_sources(sg: Spyglass) -> list[dict[str, Any]]:
    """Every source (folders too), with the sync state of connector sources."""
    data = sg.reader()
    states = ConnectorStore(data.catalog.db).states()
    db = data.catalog.db
    out = []
    for s in data.catalog.sources():
        if "(removed" in s.root:
            continue
        st = states.get(s.id)
        row = {"id": s.id, "name": s.name, "kind": s.kind, "root": s.root, "last_indexed": s.last_indexed,
               "items": db.execute("SELECT count(*) FROM items WHERE source_id = ? AND status != 'deleted'",
                                   (s.id,)).fetchone()[0]}
        if st is not None:
            row.update(connector=True, live=is_live(s.kind), state=st["state"], last_sync=st["last_sync"],
                       last_ok=st["last_ok"], last_error=st["last_error"], failures=st["failures"],
                       interval_s=st["interval_s"])
        out.append(row)
    return out


def find_source(sg: Spyglass, ref: str):
    """A source by id, name or root."""
    for s in sg.reader().catalog.sources():
        if "(removed" in s.root:
            continue
        if ref == str(s.id) or ref == s.name or ref == s.root or source_root(s.kind, ref) == s.root:
            return s
    raise SpyglassError(f"no source {ref!r}: see `spyglass sources list`")


def remove_source(sg: Spyglass, ref: str) -> dict[str, Any]:
    src = find_source(sg, ref)
    with sg.open_writer() as data:
        data.catalog.begin()
        ConnectorStore(data.catalog.db).remove(src.id)
        data.catalog.commit()
        n = Indexer(data, sg.config).remove_source(src)
    return {"id": src.id, "name": src.name, "items": n}


def sync(sg: Spyglass, refs: list[str] | None = None, only_due: bool = False, progress: Any = None
         ) -> dict[str, RunStats]:
    """Sync connector sources now (all, the named ones, or those whose interval has passed)."""
    wanted = {find_source(sg, r).id for r in refs} if refs else None
    out: dict[str, RunStats] = {}
    with sg.open_writer() as data:
        indexer = Indexer(data, sg.config, progress)
        try:
            srcs = [s for s, _ in connector_sources(data) if wanted is None or s.id in wanted]
            if only_due:
                srcs = due(ConnectorStore(data.catalog.db), srcs)
            for s in srcs:
                out[s.name] = sync_connector(data, sg.config, s, indexer, progress)
            if out:
                sg.sync_vectors(data, progress)
        finally:
            indexer.close()
    return out


def sync_due(sg: Spyglass) -> dict[str, Any]:
    return {name: st.as_dict() for name, st in sync(sg, only_due=True).items()}


class SyncTimer:
    """Starts ``start_job("sync", sync_due)`` whenever a connector source of ``home`` is due (the server's background
    jobs run it, one writer at a time); checks every ``tick_s`` on its own read-only catalog connection."""

    def __init__(self, home: Any, start_job: Any, tick_s: float = 1.0) -> None:
        self.home, self.start_job, self.tick_s = home, start_job, tick_s
        self.stop = threading.Event()
        self.job: dict[str, Any] | None = None
        self.thread = threading.Thread(target=self._loop, name="spyglass-connector-timer", daemon=True)
        self.thread.start()

    def _pending(self) -> bool:
        from spyglass.index.catalog import Catalog

        path = self.home / "catalog.sqlite3"
        if not path.exists():
            return False
        cat = Catalog(path, readonly=True)
        try:
            store = ConnectorStore(cat.db)
            return bool(due(store, [s for s in cat.sources() if s.id in store.states() and "(removed" not in s.root]))
        finally:
            cat.close()

    def _loop(self) -> None:
        while not self.stop.wait(self.tick_s):
            if self.job is not None and self.job["state"] in ("queued", "running"):
                continue
            try:
                pending = self._pending()
            except Exception:  # a catalog being created or replaced: try again next tick
                continue
            if pending:
                self.job = self.start_job("sync", sync_due)

    def close(self) -> None:
        self.stop.set()


REFETCHABLE = ("webdav",)  # kinds whose items are fetched again, by key alone, for downloads


def remote_original(sg: Spyglass, doc_id: str, principals: list[str] | None) -> tuple[bytes, str] | None:
    """The original bytes of a connector item the caller may read, fetched from its server again (WebDAV
    downloads and previews), only while it is the content that was indexed. None: not such an item."""
    from spyglass.core.errors import NotFoundError
    from spyglass.core.ids import hash_bytes
    from spyglass.sources.connector import ConnectorError, Entry, ItemError
    from spyglass.sources.registry import open_connector

    data = sg.reader()
    it = data.catalog.visible_item(doc_id, principals)  # the caller's permission, checked in the query
    if it is None or it["parent_id"] is not None:
        return None
    src = data.catalog.source(it["source_id"])
    store = ConnectorStore(data.catalog.db)
    spec = store.spec(src.id, src.name) if src else None
    ref = store.original_ref(doc_id)
    if spec is None or spec.kind not in REFETCHABLE or ref is None:
        return None
    try:
        conn = open_connector(spec)
        try:
            got = conn.fetch(Entry(key=ref[0], token=ref[1], name=it["name"]))
        finally:
            conn.close()
    except (ConnectorError, ItemError) as exc:
        raise NotFoundError(f"the server of {src.name!r} did not give the file back: {getattr(exc, 'message', exc)}"
                            ) from None
    body = got.data or b""
    if ref[2] is not None and hash_bytes(body) != ref[2]:
        raise NotFoundError("the file changed on the server since it was indexed: it is served after the next sync "
                            f"(`spyglass sources sync {src.name}`)")
    return body, it["name"]
