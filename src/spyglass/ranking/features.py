"""Features of a (query, candidate document) pair, computed from what hybrid retrieval already knows.

Both retrievers score every candidate (a candidate found by only one of them is scored by the other inside its index),
so no feature is a missing value:

| feature | meaning |
|---|---|
| ``bm25`` | BM25 of the document's best passage |
| ``bm25_norm`` | ``bm25`` min-max normalized over the candidates |
| ``bm25_rrank`` | 1 / rank in the keyword list (0 when not in its top) |
| ``cos`` | cosine of the query and the document's closest passage |
| ``cos_norm`` | ``cos`` min-max normalized over the candidates |
| ``cos_rrank`` | 1 / rank in the semantic list (0 when not in its top) |
| ``title_overlap`` | share of the query's terms found in the title |
| ``query_terms`` | number of analysed query terms |
| ``log_size`` | log(1 + document size in bytes) |

The ranker trained from a collection's own activity log (``spyglass train ranker``) also gets the document's context,
:data:`CONTEXT` — features the packaged ranker cannot use, since SciFact's abstracts have no paths or types:

| feature | meaning |
|---|---|
| ``path_overlap`` | share of the query's terms found in the document's folder path and file name |
| ``type_doc`` … ``type_code`` | one-hot of the document's kind: document, mail, chat, spreadsheet, slides, media, code |
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FEATURES = ["bm25", "bm25_norm", "bm25_rrank", "cos", "cos_norm", "cos_rrank", "title_overlap", "query_terms",
            "log_size"]


TYPE_GROUPS = {
    "mail": {"email", "mailbox"}, "chat": {"chat"}, "sheet": {"xlsx", "xls", "ods", "csv"},
    "slides": {"pptx", "ppt", "odp"}, "media": {"image", "audio", "video"}, "code": {"code", "json", "yaml", "xml"},
}
CONTEXT = ["path_overlap", "type_doc", *(f"type_{g}" for g in TYPE_GROUPS)]


@dataclass
class Candidates:
    ids: list[str]
    rows: list[list[float]]
    context: list[list[float]] | None = None  # CONTEXT rows, when paths and types were given


def context_rows(ids: list[str], query_terms: list[str], path_terms: dict[str, set[str]],
                 types: dict[str, str]) -> list[list[float]]:
    q = set(query_terms)
    out = []
    for i in ids:
        t = types.get(i, "")
        group = next((g for g, members in TYPE_GROUPS.items() if t in members), "doc")
        out.append([len(q & path_terms.get(i, set())) / len(q) if q else 0.0, float(group == "doc"),
                    *(float(group == g) for g in TYPE_GROUPS)])
    return out


def _norm(values: dict[str, float]) -> dict[str, float]:
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    return {k: (v - lo) / (hi - lo) if hi > lo else 1.0 for k, v in values.items()}


def build(ids: list[str], bm25: dict[str, float], cos: dict[str, float], lex_rank: dict[str, int],
          dense_rank: dict[str, int], query_terms: list[str], title_terms: dict[str, set[str]],
          sizes: dict[str, int], path_terms: dict[str, set[str]] | None = None,
          types: dict[str, str] | None = None) -> Candidates:
    bn, cn = _norm({i: bm25.get(i, 0.0) for i in ids}), _norm({i: cos.get(i, 0.0) for i in ids})
    q = set(query_terms)
    rows = []
    for i in ids:
        tt = title_terms.get(i, set())
        rows.append([
            bm25.get(i, 0.0), bn[i], 1.0 / lex_rank[i] if i in lex_rank else 0.0,
            cos.get(i, 0.0), cn[i], 1.0 / dense_rank[i] if i in dense_rank else 0.0,
            len(q & tt) / len(q) if q else 0.0, float(len(query_terms)), math.log1p(sizes.get(i, 0)),
        ])
    context = context_rows(ids, query_terms, path_terms, types or {}) if path_terms is not None else None
    return Candidates(ids, rows, context)
