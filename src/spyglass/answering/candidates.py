"""The pieces of a passage that may be quoted as an answer.

Sentences (:mod:`spyglass.core.sentences`), with three exceptions for the shapes extraction gives mail and chat:

- a mail's header block (``From:``, ``To:``, ``Cc:``, ``Subject:`` … lines, :mod:`spyglass.extraction.mail`) is never
  an answer: it shares the question's words through the subject, yet says nothing about it;
- a chat day is one line per message (``[when] who: text``, :mod:`spyglass.extraction.chat`): each message is its own
  candidate, so one person's question is not glued to another's reply;
- a question is not an answer: a piece ending in ``?`` is skipped (in a chat, the message that asked).
"""

from __future__ import annotations

import re

from spyglass.core.sentences import sentences

HEADER = re.compile(r"^(from|to|cc|bcc|date|sent|subject|reply-to)\s*:", re.I)
CHAT_LINE = re.compile(r"^\[[^\]\n]{1,40}\]\s*[^:\n]{1,80}:\s")


def is_question(piece: str) -> bool:
    return piece.rstrip(" \"')]»”").endswith("?")


def answer_pieces(text: str) -> list[str]:
    """The sentences of ``text`` that may be quoted, in order."""
    out: list[str] = []
    for sent in sentences(text):
        lines = [ln.strip() for ln in sent.split("\n")]
        if len(lines) > 1 and any(HEADER.match(ln) or CHAT_LINE.match(ln) for ln in lines):
            pieces = lines  # one header field or one message per line
        else:
            pieces = [sent]
        out += [p for p in pieces if p and not HEADER.match(p) and not is_question(p)]
    return out
