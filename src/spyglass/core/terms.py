"""Content words for overlap scores: lower-cased, stop words removed, a light suffix strip (no model)."""

from __future__ import annotations

import re

STOP = frozenset("""a an the and or but if of to in on at by for with from into onto over under as is are was were be
been being am do does did done have has had having i you he she it we they me him her us them my your his its our their
this that these those there here what which who whom whose when where why how not no nor so than too very can could
should would will shall may might must also just only about after before again all any both each few more most other
some such own same then once during while up down out off further through until against between above below s t don
now ll re ve d m o y please tell know find show give much many""".split())
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Words that carry no topic in a question or a search (Lucene's English stop set and the question words): they are
# dropped from the optional words of a query that has others, so "where and when is the meeting" is about the meeting.
QUERY_STOP = frozenset("""a an and are as at be but by for if in into is it no not of on or such that the their then there
these they this to was will with what when where which who whom whose why how do does did i me my you your we our can
could would should about""".split())


def stem(w: str) -> str:
    if w.endswith(("sses", "shes", "ches", "xes", "zes")) and len(w) > 5:
        return w[:-2]
    for suf in ("ingly", "edly", "ings", "ing", "ies", "ied", "ed", "s", "ly"):
        if len(w) > len(suf) + 2 and w.endswith(suf) and not (suf == "s" and w.endswith(("ss", "us", "is"))):
            return w[: -len(suf)] + ("y" if suf in ("ies", "ied") else "")
    return w


def content_terms(text: str) -> list[str]:
    return [stem(w) for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in STOP]
