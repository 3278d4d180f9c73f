"""``Spyglass.ask``: retrieve passages the asker may read, then answer from them (:mod:`spyglass.answering`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from spyglass.answering.extractive import ExtractiveSettings
from spyglass.answering.rag import answer_events
from spyglass.answering.types import Source
from spyglass.core.config import AnswerSettings
from spyglass.core.errors import ConfigError

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


def retrieve_sources(sg: Any, question: str, principals: list[str] | None, k: int,
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


def ask_events(sg: Any, question: str, principals: list[str] | None = None, history: list[tuple[str, str]] | None = None,
               backend: str | None = None, chat: Any = None, filters: Any = None) -> Iterator[dict[str, Any]]:
    s: AnswerSettings = sg.config.answer
    t0 = time.perf_counter()
    chat = chat if chat is not None else make_chat(s, backend)
    query = question if not history else " ".join([history[-1][0], question])  # a follow-up keeps its topic
    sources = retrieve_sources(sg, query, principals, s.passages, filters)
    embedder = None
    if sg.config.embedding.enabled:
        try:
            embedder = sg.embedder()
        except Exception:  # keyword-only installs answer with lexical scores
            embedder = None
    scorer = reader = None
    if s.answerability and (chat is None or s.refuse_before_llm):
        from spyglass.models.answerer import shared_answerability, shared_reader

        scorer = shared_answerability(s.answerability)
        reader = shared_reader(s.reader, s.reader_tokenizer, sg.config.embedding.threads) if s.reader else None
    yield from answer_events(question, sources, chat, embedder, history, s.context_tokens, s.min_support,
                             ExtractiveSettings(min_score=s.min_score, min_answerable=s.min_answerable), t_start=t0,
                             scorer=scorer, reader=reader, refuse_before_llm=s.refuse_before_llm)


def summarize(sg: Any, path: str, principals: list[str] | None = None, backend: str | None = None,
              n_sentences: int = 5) -> dict[str, Any]:
    import os

    from spyglass.answering.summarize import summarize_texts
    from spyglass.core.errors import NotFoundError

    data = sg.reader()
    full = os.path.abspath(os.path.expanduser(path))
    row = data.catalog.db.execute("SELECT id FROM items WHERE path IN (?, ?) AND status = 'ok' ORDER BY parent_id IS "
                                  "NOT NULL LIMIT 1", (full, path)).fetchone()
    item = data.catalog.visible_item(row[0], principals) if row else None
    if item is None:
        raise NotFoundError(f"{path} is not an indexed document you may read (see `spyglass search`)")
    chunks = data.catalog.chunks_of(item["id"], limit=100_000)
    chat = make_chat(sg.config.answer, backend)
    embedder = None
    if sg.config.embedding.enabled:
        try:
            embedder = sg.embedder()
        except Exception:
            embedder = None
    res = summarize_texts([c.text for c in chunks], embedder, chat, n_sentences)
    return {"id": item["id"], "title": item["title"] or item["name"], "path": item["path"],
            "backend": chat.name if chat is not None else "extractive", **res}
