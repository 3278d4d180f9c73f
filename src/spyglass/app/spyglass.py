"""``Spyglass(home)``: index, search, watch and report on one data directory."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

from spyglass.app.components import Components
from spyglass.app.vectors import pending as vectors_pending
from spyglass.app.vectors import sync_all
from spyglass.core import acl
from spyglass.core.acl import EVERYTHING, Principals
from spyglass.core.config import Config, default_home, load_config
from spyglass.core.errors import NotFoundError, SpyglassError
from spyglass.core.progress import Progress
from spyglass.core.types import SearchResult
from spyglass.index.catalog import Source
from spyglass.index.connector_sync import is_connector, sync_connector
from spyglass.index.pipeline import Indexer, RunStats
from spyglass.index.store import DataDir
from spyglass.retrieval.query import Filters, apply_filter, parse

__all__ = ["Spyglass", "Filters", "apply_filter", "parse", "EVERYTHING"]


class Spyglass:
    def __init__(self, home: str | Path | None = None, config: Config | None = None) -> None:
        self.home = Path(home).expanduser().resolve() if home else default_home()
        self.config = config if config is not None else load_config(self.home / "config.toml")
        self.parts = Components(self.home, self.config)
        self._accounts = None

    # -- writing ----------------------------------------------------------------------------------------------
    def open_writer(self) -> DataDir:
        self.close()
        return DataDir(self.home, write=True)

    def index(self, paths: list[str] | None = None, progress: Progress | None = None,
              retry_failed: bool = False, wait: bool = True) -> RunStats:
        """Index ``paths`` (adding them as sources), or every known source when ``paths`` is empty. The keyword index
        is committed first; then vectors are made in this call (``wait``) or by the background embedder
        (:mod:`spyglass.app.background`), and this call returns at once (``RunStats.semantic`` says how far it is)."""
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
                    total.merge(sync_connector(data, self.config, src, indexer, progress) if is_connector(src)
                                else indexer.index_source(src, retry_failed=retry_failed))
                indexer.close()
                if wait:
                    total.semantic, total.images = self.sync_vectors(data, progress)
            finally:
                indexer.close()
                data.catalog.finish_run(run, total.as_dict())
            background = not wait and vectors_pending(data, self.config)
        if background:
            total.semantic = self._embed_in_background()
        return total

    def _embed_in_background(self) -> dict[str, Any]:
        from spyglass.app.background import start

        pid = start(self.home)
        counts = self.reader().catalog.vector_counts()
        pending = self.reader().catalog.emb_pending()[1]
        self.close()
        return {"background": {"pid": pid, "pending_passages": pending, **counts}}

    def sync_vectors(self, data: DataDir, progress: Progress | None = None, **kw: Any
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
        """After the keyword index is committed: passage embeddings (by value), then image vectors when a text–image
        model is configured (:func:`spyglass.app.vectors.sync_all`)."""
        return sync_all(self.parts, data, progress, **kw)

    def clip(self):
        """The text–image model slot (:mod:`spyglass.models.clip`), or None when not configured."""
        return self.parts.clip()

    def remove_source(self, root: str) -> int:
        with self.open_writer() as data:
            src = data.catalog.source_by_root(os.path.abspath(os.path.expanduser(root)))
            if src is None:
                raise SpyglassError(f"{root} is not a source (see `spyglass sources`)")
            indexer = Indexer(data, self.config)
            return indexer.remove_source(src)

    # -- reading ----------------------------------------------------------------------------------------------
    def reader(self) -> DataDir:
        return self.parts.reader()

    def close(self) -> None:
        """Release the index readers (the next read reopens them, seeing the latest commit)."""
        self.parts.close()

    def close_all(self) -> None:
        self.parts.close_all()
        if self._accounts is not None:
            self._accounts.close()
            self._accounts = None

    def principals_for(self, user: str) -> list[str]:
        """What a user may read: their user and group principals (POSIX and configured), their mail addresses
        and configured principals, and ``everyone``. An empty name is refused (it must never mean "anyone")."""
        if not user or not user.strip():
            raise SpyglassError("a user name is needed (--as-user NAME); an empty one would fail open")
        out = set(acl.os_user_principals(user))
        u = self.config.users.get(user)
        if u is not None:
            out.update(acl.group(g) for g in u.groups)
            out.update(acl.email(e) for e in u.emails)
            out.update(u.principals)
        if (self.home / "accounts.sqlite3").exists():
            account = self.accounts.get(user)
            if account is not None:
                out.add(acl.user(account.name))
                out.update(acl.group(g) for g in account.groups)
                out.update(acl.email(e) for e in account.emails)
        out.add(acl.EVERYONE)
        return sorted(out)

    @property
    def accounts(self):
        """Users, tokens and sessions of a team install (:mod:`spyglass.app.accounts`)."""
        if self._accounts is None:
            from spyglass.app.accounts import Accounts

            self._accounts = Accounts(self.home)
        return self._accounts

    def access(self, as_user: str | None = None, principals: Principals | None = None) -> Principals:
        """Whose view a read takes: ``principals`` when given, else ``as_user``'s, else the index owner's
        (:data:`~spyglass.core.acl.EVERYTHING`: the library and the local command line act as the owner)."""
        if principals is not None:
            return acl.require(principals)
        if as_user is not None:
            return self.principals_for(as_user)
        return EVERYTHING

    def document(self, item_id: str, principals: Principals = EVERYTHING, passages: int = 50) -> dict[str, Any]:
        """A document's metadata and its first passages, only when ``principals`` may read it (checked in the
        catalog query; an unknown and a forbidden id give the same error)."""
        data = self.reader()
        it = data.catalog.visible_item(item_id, principals)
        if it is None:
            raise NotFoundError(f"no document {item_id!r}")
        chunks = data.catalog.chunks_of(item_id, passages)
        raw = it.pop("path_raw")
        it["file"] = os.fsdecode(raw) if raw and it["parent_id"] is None else None
        it["passages"] = [{"ord": c.ord, "text": c.text, "page": c.page, "label": c.label} for c in chunks]
        return it

    def autocomplete(self, prefix: str, principals: Principals = EVERYTHING, limit: int = 8) -> list[dict[str, str]]:
        """Titles of readable documents matching what is typed so far (the last word as a prefix). Built from an
        access-filtered search, so it never suggests words from documents the caller may not read."""
        words = [w for w in "".join(c if c.isalnum() else " " for c in prefix).split() if w]
        if not words:
            return []
        q = " ".join(words[:-1] + [words[-1] + "*"])
        res = self.search(q, limit=limit, principals=principals, mode="keyword", snippets=False)
        return [{"id": h.id, "title": h.title, "path": h.path, "type": h.type} for h in res.hits]

    def facets(self, query: str, filters: Filters | None = None, principals: Principals = EVERYTHING,
               depth: int = 1000) -> dict[str, list[tuple[str, int]]]:
        """Facet counts (type, source, year, folder, topic) over the first ``depth`` keyword matches the caller may
        read."""
        from spyglass.app.search import make_request

        request = make_request(self.parts, query, principals=principals, filters=filters, mode="keyword",
                               limit=depth, snippets=False, rerank="none")
        ranking = self.parts.pipeline().lexical.run(request, depth)
        return self.reader().catalog.facet_counts([h.id for h in ranking.hits])

    def sources(self) -> list[Source]:
        return self.reader().catalog.sources()

    def search(self, query: str, limit: int | None = None, offset: int = 0, filters: Filters | None = None,
               as_user: str | None = None, principals: Principals | None = None, mode: str | None = None,
               fusion: str | None = None, snippets: bool = True, syntax: str = "query",
               rerank: str | None = None, log_user: str | None = None) -> SearchResult:
        """Search. ``mode``: keyword, semantic or hybrid (default: hybrid when the index has vectors, else keyword).
        ``as_user`` (or explicit ``principals``) restricts results to what that caller may read; the restriction is
        part of each index query. ``syntax="plain"`` reads the query as a bag of words (no operators or filters)."""
        from spyglass.app.search import make_request

        request = make_request(self.parts, query, principals=self.access(as_user, principals), limit=limit,
                               offset=offset, filters=filters, mode=mode, fusion=fusion, rerank=rerank,
                               snippets=snippets, syntax=syntax, user=log_user or as_user)
        pipeline = self.parts.pipeline()
        ranking = pipeline.run(request)
        mode_run = pipeline.mode(request) + ("+image" if pipeline.uses_images(request) else "")
        out = SearchResult(query=query, total=ranking.total, hits=ranking.hits, took_ms=ranking.timings["total"],
                           corrected={w: "~" for w in ranking.fuzzy}, mode=mode_run, related=ranking.related)
        if log_user and self.config.activity.enabled:
            out.search_id = self._log_search(log_user, query, mode_run, out.hits, offset)
        return out

    def _log_search(self, user: str, query: str, mode: str, hits: list, offset: int) -> int:
        """Learning from use: what this user was shown (RandPair swaps a random adjacent pair in a share of searches,
        so the position bias can be measured from the log)."""
        a = self.config.activity
        if a.randomize and offset == 0 and len(hits) > 1 and random.random() < a.randomize_share:
            k = random.randrange(1, len(hits))
            hits[k - 1], hits[k] = hits[k], hits[k - 1]
        return self.activity().log_search(user, query, mode, [h.id for h in hits], offset)

    def activity(self):
        """The activity log (:mod:`spyglass.index.activity`) on its own catalog connection."""
        return self.parts.activity()

    def ask(self, question: str, as_user: str | None = None, principals: Principals | None = None,
            history: list[tuple[str, str]] | None = None, backend: str | None = None, stream: bool = False,
            filters: Filters | None = None) -> Any:
        """Answer from the files the caller may read. ``stream=True`` gives the events of
        :func:`spyglass.answering.rag.answer_events`; otherwise the final answer as a dict."""
        from spyglass.answering.rag import final
        from spyglass.app.ask import ask_events

        if not question.strip():
            raise SpyglassError("ask a question")
        events = ask_events(self, question, self.access(as_user, principals), history, backend, filters=filters)
        return events if stream else final(events)

    def summarize(self, path: str, as_user: str | None = None, principals: Principals | None = None,
                  backend: str | None = None, sentences: int = 5) -> dict[str, Any]:
        """A summary of one indexed document the caller may read (in parts, then combined)."""
        from spyglass.app.ask import summarize

        return summarize(self, path, self.access(as_user, principals), backend, sentences)

    def candidate_features(self, query: str, syntax: str = "plain", context: bool = False
                           ) -> tuple[list[str], list[list[float]]]:
        """The learned ranker's candidates for a query (document ids) and their feature rows, for training
        (:data:`spyglass.ranking.features.FEATURES`, then ``CONTEXT`` when ``context``)."""
        from spyglass.app.search import make_request

        self.parts.dense(required=True)  # the features need vectors
        request = make_request(self.parts, query, principals=EVERYTHING, mode="hybrid", snippets=False,
                               syntax=syntax, rerank="none")
        pipeline = self.parts.pipeline()
        hits, rows = pipeline.rerankers["ltr"].features(request, pipeline.candidates(request), context=context)
        return [h.id for h in hits], rows

    def ltr(self):
        """The packaged learned ranker (or the one ``[rerank] ltr_model`` names)."""
        return self.parts.ltr()

    def learned_model(self) -> Path | None:
        """The current ranker trained from the activity log (``models/ranker.json`` names it), if any."""
        return self.parts.learned_model()

    def embedder(self):
        return self.parts.embedder()

    def status(self) -> dict[str, Any]:
        from spyglass.app.status import collect_status

        return collect_status(self.reader())

    def watch(self, paths: list[str] | None = None, on_change: Any = None, stop: Any = None,
              polling: bool = False, debounce: float = 0.5, ready: Any = None) -> None:
        """Keep the index live until ``stop`` (a ``threading.Event``) is set. Blocks."""
        from spyglass.app.watcher import watch

        watch(self.open_writer(), self.config, self.sync_vectors, paths or [], on_change=on_change, stop=stop,
              polling=polling, debounce=debounce, ready=ready)
