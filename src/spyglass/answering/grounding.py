"""Check a generated answer against its sources: every citation must name a passage the asker was given, and every
claim must be supported by the passages it cites.

Support of a claim c by passages P (content words, light stemming, see :mod:`spyglass.core.terms`):

    support(c, P) = |terms(c) ∩ terms(P)| / |terms(c)|

A claim is kept when support ≥ ``min_support`` for the passages it cites. An uncited or wrongly cited claim that
another source supports is re-cited to that source; a claim no source supports is dropped and reported. Claims with
fewer than ``min_terms`` content words (connectives like "Yes." or "In short:") are kept without a check.
"""

from __future__ import annotations

import re

from spyglass.core.sentences import sentences
from spyglass.core.terms import content_terms
from spyglass.answering.types import NOT_FOUND, Answer, Claim, Source

CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
REFUSALS = ("could not find", "couldn't find", "cannot find", "can't find", "not in the files", "no information",
            "do not contain", "don't contain", "does not contain", "not mentioned", "no relevant")


def parse_claims(text: str) -> list[Claim]:
    out: list[Claim] = []
    for sent in sentences(text):
        cites = [int(x) for m in CITE.finditer(sent) for x in re.split(r"[,;]", m.group(1))]
        clean = CITE.sub("", sent).strip()
        clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
        if clean:
            out.append(Claim(clean, sorted(set(cites))))
        elif cites and out:  # a citation alone after the sentence it belongs to
            out[-1].cites = sorted(set(out[-1].cites) | set(cites))
    return out


def support(claim: str, passages: list[str]) -> float:
    terms = set(content_terms(claim))
    if not terms:
        return 1.0
    have: set[str] = set()
    for p in passages:
        have |= set(content_terms(p))
    return len(terms & have) / len(terms)


def ground(question: str, text: str, sources: list[Source], backend: str, min_support: float = 0.6,
           min_terms: int = 3) -> Answer:
    """The answer as checked claims; unsupported ones dropped, refusals recognised."""
    by_n = {s.n: s for s in sources}
    claims: list[Claim] = []
    dropped: list[str] = []
    lowered = text.lower()
    if not text.strip() or any(r in lowered for r in REFUSALS) and not CITE.search(text):
        return Answer(question, NOT_FOUND, sources, [], backend, found=False)
    for c in parse_claims(text):
        c.cites = [n for n in c.cites if n in by_n]  # a citation of a passage the asker was not given is void
        if len(set(content_terms(c.text))) < min_terms:
            claims.append(c)
            continue
        if c.cites and support(c.text, [by_n[n].text for n in c.cites]) >= min_support:
            claims.append(c)
            continue
        best = max(sources, key=lambda s: support(c.text, [s.text]), default=None)
        if best is not None and support(c.text, [best.text]) >= min_support:
            claims.append(Claim(c.text, [best.n], supported=True))
        else:
            dropped.append(c.text)
    if not any(c.cites for c in claims):
        return Answer(question, NOT_FOUND, sources, [], backend, found=False, dropped=dropped)
    body = " ".join(c.text + (" " + "".join(f"[{n}]" for n in c.cites) if c.cites else "") for c in claims)
    return Answer(question, body, sources, claims, backend, found=True, dropped=dropped)
