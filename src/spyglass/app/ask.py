"""``Spyglass.ask``: retrieve passages the asker may read, then answer from them (:mod:`spyglass.answering`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from spyglass.answering.extractive import ExtractiveSettings
from spyglass.answering.rag import answer_events
from spyglass.answering.types import Source
from spyglass.core.acl import EVERYTHING, Principals
from spyglass.core.config import AnswerSettings
from spyglass.core.deadline import Deadline
from spyglass.core.deadline import check as check_deadline
from spyglass.core.deadline import current as current_deadline
from spyglass.core.errors import ConfigError, NotFoundError

BACKENDS = ("auto", "extractive", "openai", "llama-cpp")


def make_chat(s: AnswerSettings, backend: str | None = None) -> Any:
    """The chat model the settings name, or None for extractive answers."""
    b = backend or s.backend
    if b not in BACKENDS:
        raise ConfigError(f"unknown answer backend {b!r}: use {', '.join(BACKENDS)}")
    if b == "auto":
        b = "openai" if s.endpoint else "extractive"
    if b == "extractive":
        return None
    if b == "openai":
        if not s.endpoint:
            raise ConfigError("the openai answer backend needs [answer] endpoint (e.g. http://localhost:11434/v1) "
                              "and model")
        from spyglass.models.chat import OpenAIChat

        return OpenAIChat(s.endpoint, s.model or "default", s.api_key_env, max_tokens=s.max_tokens,
                          temperature=s.temperature)
    from spyglass.models.chat import LlamaCppChat

    return LlamaCppChat(s.model_path, s.context_tokens, s.max_tokens, s.temperature)


def retrieve_sources(sg: Any, question: str, principals: Principals, k: int,
                     filters: Any = None) -> list[Source]:
    res = sg.search(question, limit=k, principals=principals, syntax="plain", filters=filters, snippets=False)
    cat = sg.reader().catalog
    out: list[Source] = []
    for h in res.hits:
        ch = cat.chunk(h.id, h.chunk or 0) if h.chunk is not None else None
        if ch is None:
            continue
        out.append(Source(len(out) + 1, h.id, h.title, h.path, ch.text, ch.page, ch.label, h.score, ch.ord))
    return out


def ask_events(sg: Any, question: str, principals: Principals = EVERYTHING, history: list[tuple[str, str]] | None = None,
               backend: str | None = None, chat: Any = None, filters: Any = None,
               deadline: Deadline | None = None) -> Iterator[dict[str, Any]]:
    """The answer's events. ``deadline`` (default: the current context's) is checked after retrieval and between
    events (a model's tokens): past it the work stops with :class:`~spyglass.core.errors.DeadlineError`."""
    deadline = deadline or current_deadline()
    s: AnswerSettings = sg.config.answer
    t0 = time.perf_counter()
    chat = chat if chat is not None else make_chat(s, backend)
    query = question if not history else " ".join([history[-1][0], question])  # a follow-up keeps its topic
    sources = retrieve_sources(sg, query, principals, s.passages, filters)
    check_deadline(deadline)
    embedder = _embedder(sg)  # keyword-only installs answer with lexical scores
    scorer = reader = None
    # the answer models read MiniLM similarities and states: with no embedder (keyword-only installs) the word-overlap
    # score and min_score decide instead
    if s.answerability and embedder is not None and (chat is None or s.refuse_before_llm):
        from spyglass.models.answerer import shared_answerability, shared_reader

        scorer = shared_answerability(s.answerability)
        reader = shared_reader(s.reader, s.reader_tokenizer, sg.config.embedding.threads) if s.reader else None
    for event in answer_events(question, sources, chat, embedder, history, s.context_tokens, s.min_support,
                               ExtractiveSettings(min_score=s.min_score, min_answerable=s.min_answerable),
                               t_start=t0, scorer=scorer, reader=reader, refuse_before_llm=s.refuse_before_llm):
        check_deadline(deadline)
        yield event


def _embedder(sg: Any) -> Any:
    if not sg.config.embedding.enabled:
        return None
    try:
        return sg.embedder()
    except Exception:  # a missing extra or model: answers and summaries fall back to lexical scores
        return None


def summarize(sg: Any, path: str, principals: Principals = EVERYTHING, backend: str | None = None,
              n_sentences: int = 5, deadline: Deadline | None = None) -> dict[str, Any]:
    """A summary of the indexed file at ``path`` (the file itself, not an item inside it)."""
    import os

    data = sg.reader()
    full = os.path.abspath(os.path.expanduser(path))
    row = data.catalog.db.execute("SELECT id FROM items WHERE path IN (?, ?) AND status = 'ok' ORDER BY parent_id IS "
                                  "NOT NULL LIMIT 1", (full, path)).fetchone()
    if row is None or data.catalog.visible_item(row[0], principals) is None:  # unknown and forbidden read the same
        raise NotFoundError(f"{path} is not an indexed document you may read (see `spyglass search`)")
    return summarize_item(sg, row[0], principals, backend, n_sentences, deadline)


def summarize_item(sg: Any, item_id: str, principals: list[str] | None = None, backend: str | None = None,
                   n_sentences: int = 5, deadline: Deadline | None = None) -> dict[str, Any]:
    """A summary of one readable item by its id: a message is summarized alone, never its whole mailbox."""
    from spyglass.answering.summarize import summarize_texts

    data = sg.reader()
    item = data.catalog.visible_item(item_id, principals)
    if item is None:
        raise NotFoundError(f"no document {item_id!r} you may read (see `spyglass search`)")
    chunks = data.catalog.chunks_of(item["id"], limit=100_000)
    chat = make_chat(sg.config.answer, backend)
    res = summarize_texts([c.text for c in chunks], _embedder(sg), chat, n_sentences, deadline=deadline)
    return {"id": item["id"], "title": item["title"] or item["name"], "path": item["path"],
            "backend": chat.name if chat is not None else "extractive", **res}
