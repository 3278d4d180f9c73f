"""``Spyglass(home)``: index, search, watch and report on one data directory."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from spyglass.core import acl
from spyglass.core.config import Config, default_home, load_config
from spyglass.core.errors import SpyglassError
from spyglass.core.progress import Progress
from spyglass.core.types import Hit, SearchResult
from spyglass.index.catalog import Source
from spyglass.index.pipeline import Indexer, RunStats
from spyglass.index.store import DataDir
from spyglass.retrieval.query import Filters, apply_filter, parse

__all__ = ["Spyglass", "Filters", "apply_filter"]


class Spyglass:
    def __init__(self, home: str | Path | None = None, config: Config | None = None) -> None:
        self.home = Path(home).expanduser().resolve() if home else default_home()
        self.config = config if config is not None else load_config(self.home / "config.toml")
        self._reader: DataDir | None = None

    # -- writing ----------------------------------------------------------------------------------------------
    def open_writer(self) -> DataDir:
        self.close()
        return DataDir(self.home, write=True)

    def index(self, paths: list[str] | None = None, progress: Progress | None = None,
              retry_failed: bool = False) -> RunStats:
        """Index ``paths`` (adding them as sources), or every known source when ``paths`` is empty."""
        with self.open_writer() as data:
            indexer = Indexer(data, self.config, progress)
            run = data.catalog.start_run("index")
            total = RunStats()
            try:
                indexer.sync_lexical()  # finish whatever a killed run left behind
                sources = [indexer.add_source(p) for p in paths] if paths else data.catalog.sources()
                if not sources:
                    raise SpyglassError("nothing to index: give a folder, e.g. `spyglass index ~/Documents`")
                for src in sources:
                    total.merge(indexer.index_source(src, retry_failed=retry_failed))
            finally:
                indexer.close()
                data.catalog.finish_run(run, total.as_dict())
            return total

    def remove_source(self, root: str) -> int:
        with self.open_writer() as data:
            src = data.catalog.source_by_root(os.path.abspath(os.path.expanduser(root)))
            if src is None:
                raise SpyglassError(f"{root} is not a source (see `spyglass sources`)")
            indexer = Indexer(data, self.config)
            return indexer.remove_source(src)

    # -- reading ----------------------------------------------------------------------------------------------
    def reader(self) -> DataDir:
        if self._reader is None:
            self._reader = DataDir(self.home, write=False)
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def principals_for(self, user: str) -> list[str]:
        """What a user may read: their user and group principals (POSIX and configured), their mail addresses
        and configured principals, and ``everyone``."""
        out = set(acl.os_user_principals(user))
        u = self.config.users.get(user)
        if u is not None:
            out.update(acl.group(g) for g in u.groups)
            out.update(acl.email(e) for e in u.emails)
            out.update(u.principals)
        out.add(acl.EVERYONE)
        return sorted(out)

    def sources(self) -> list[Source]:
        return self.reader().catalog.sources()

    def search(self, query: str, limit: int | None = None, offset: int = 0, filters: Filters | None = None,
               as_user: str | None = None, principals: list[str] | None = None) -> SearchResult:
        """Keyword search. ``as_user`` (or explicit ``principals``) restricts results to what that caller may read;
        the restriction is part of the index query."""
        from spyglass.retrieval.lexical import LexicalRetriever

        data = self.reader()
        parsed = parse(query)
        if filters is not None:
            parsed.filters = parsed.filters.merge(filters)
        if as_user is not None:
            principals = self.principals_for(as_user)
        limit = limit or self.config.search.default_limit
        source_ids = {s.name: str(s.id) for s in data.catalog.sources()}
        source_ids.update({s.root: str(s.id) for s in data.catalog.sources()})
        retriever = LexicalRetriever(data.lexical, self.config.search)
        t0 = time.perf_counter()
        res = retriever.search(parsed, limit=limit, offset=offset, principals=principals, source_ids=source_ids)
        items = data.catalog.items([h.item_id for h in res.hits])
        hits: list[Hit] = []
        for h in res.hits:
            it = items.get(h.item_id)
            if it is None:  # removed between the index commit and now
                continue
            hits.append(
                Hit(
                    id=h.item_id,
                    score=round(h.score, 4),
                    path=it["path"],
                    title=it["title"] or it["name"],
                    type=it["type"],
                    modified=it["modified"],
                    snippet=h.snippet,
                    snippet_html=h.snippet_html,
                    page=h.page,
                    chunk=h.ord,
                    uri=it["uri"],
                    source=str(it["source_id"]),
                    parent_id=it["parent_id"],
                    extra={"name": it["name"], "author": it["author"], "size": it["size"],
                           "highlights": h.highlights, "status": it["status"]},
                )
            )
        return SearchResult(query=query, total=res.total, hits=hits, took_ms=(time.perf_counter() - t0) * 1000,
                            corrected={w: "~" for w in res.fuzzy})

    def status(self) -> dict[str, Any]:
        from spyglass.app.status import collect_status

        return collect_status(self.reader())

    def watch(self, paths: list[str] | None = None, on_change: Any = None, stop: Any = None,
              polling: bool = False, debounce: float = 0.5, ready: Any = None) -> None:
        """Keep the index live until ``stop`` (a ``threading.Event``) is set. Blocks."""
        from spyglass.app.watcher import watch

        watch(self, paths or [], on_change=on_change, stop=stop, polling=polling, debounce=debounce, ready=ready)
