"""Answer a question from retrieved sources: extractively, or with a chat model whose answer is then grounded.

``answer_events`` yields dicts, in order:

- ``{"type": "sources", "sources": [...]}`` the numbered passages the answer may cite;
- ``{"type": "token", "text": "..."}`` pieces of the model's draft as they arrive (chat models only);
- ``{"type": "answer", ...}`` the checked answer (:meth:`Answer.as_dict`): citations verified, unsupported claims
  dropped, or the not-found message.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from spyglass.answering.extractive import ExtractiveSettings, extractive_answer
from spyglass.answering.grounding import ground
from spyglass.answering.prompt import build_messages, pack_sources
from spyglass.answering.reader import answerability, read_answer
from spyglass.answering.types import NOT_FOUND, Answer, Source


def answer_events(question: str, sources: list[Source], chat: Any = None, embedder: Any = None,
                  history: list[tuple[str, str]] | None = None, context_tokens: int = 2048,
                  min_support: float = 0.6, extractive: ExtractiveSettings | None = None,
                  t_start: float | None = None, scorer: Any = None, reader: Any = None,
                  refuse_before_llm: bool = False) -> Iterator[dict[str, Any]]:
    """``scorer`` and ``reader``: the answer models (:mod:`spyglass.answering.reader`): extractive answers are chosen
    by the answerability model and their span marked by the reader; with a chat model and ``refuse_before_llm``, a
    question whose answerability is below ``extractive.min_answerable`` is refused without generating."""
    t0 = t_start or time.perf_counter()
    timings: dict[str, float] = {"retrieve": (time.perf_counter() - t0) * 1000}
    if chat is None:
        if scorer is not None:
            ans = read_answer(question, sources, scorer, reader, embedder, extractive)
        else:
            ans = extractive_answer(question, sources, embedder, extractive)
        yield {"type": "sources", "sources": [s.as_dict() for s in sources]}
        timings["first_token"] = timings["total"] = (time.perf_counter() - t0) * 1000
        ans.timings = timings
        yield {"type": "answer", **ans.as_dict()}
        return
    budget = context_tokens - 700  # the rules, the question, history and room for the answer
    packed = pack_sources(sources, budget)
    yield {"type": "sources", "sources": [s.as_dict() for s in packed]}
    p = None
    if scorer is not None and packed and refuse_before_llm:
        p = answerability(question, packed, scorer, embedder, extractive, reader)
    if not packed:
        ans = Answer(question, NOT_FOUND, [], [], chat.name, found=False)
    elif p is not None and p < (extractive or ExtractiveSettings()).min_answerable:
        ans = Answer(question, NOT_FOUND, packed, [], chat.name, found=False, answerability=p)
    else:
        draft: list[str] = []
        for piece in chat.stream(build_messages(question, packed, history)):
            if not draft:
                timings["first_token"] = (time.perf_counter() - t0) * 1000
            draft.append(piece)
            yield {"type": "token", "text": piece}
        ans = ground(question, "".join(draft), packed, chat.name, min_support)
        ans.answerability = p
    timings.setdefault("first_token", (time.perf_counter() - t0) * 1000)
    timings["total"] = (time.perf_counter() - t0) * 1000
    ans.timings = timings
    yield {"type": "answer", **ans.as_dict()}


def final(events: Iterator[dict[str, Any]]) -> dict[str, Any]:
    """The ``answer`` event of a stream."""
    out: dict[str, Any] = {}
    for e in events:
        if e["type"] == "answer":
            out = e
    return out
