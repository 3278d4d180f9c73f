"""Keyword retrieval over the tantivy index: BM25 with per-field boosts, phrases, prefixes, typo tolerance, filters
and access control, passages grouped into documents (a document scores as its best passage), snippets."""

from __future__ import annotations

import time
from dataclasses import dataclass

import tantivy

from spyglass.core.config import SearchSettings
from spyglass.index.lexical import LexicalIndex, analyzer, iid_hex, iid_key
from spyglass.retrieval.filters import acl_query, filter_queries
from spyglass.retrieval.query import MUST, MUST_NOT, SHOULD, Clause, ParsedQuery

_OCCUR = {MUST: tantivy.Occur.Must, SHOULD: tantivy.Occur.Should, MUST_NOT: tantivy.Occur.MustNot}


@dataclass(slots=True)
class PassageHit:
    item_id: str
    score: float
    ord: int
    page: int | None
    snippet: str
    snippet_html: str
    highlights: list[tuple[int, int]]


@dataclass(slots=True)
class LexicalResult:
    hits: list[PassageHit]  # one per document, best passage, in rank order
    total: int
    fuzzy: list[str]  # words matched approximately (not found as typed)
    took_ms: float


class LexicalRetriever:
    def __init__(self, index: LexicalIndex, settings: SearchSettings | None = None) -> None:
        self.index = index
        self.schema = index.schema
        self.settings = settings or SearchSettings()
        self._analyzer = analyzer()

    def _boosts(self, field: str | None) -> list[tuple[str, float]]:
        s = self.settings
        all_fields = [("title", s.title_boost), ("path", s.path_boost), ("body", s.body_boost)]
        return [(f, b) for f, b in all_fields if field is None or f == field]

    def _clause_query(self, c: Clause, searcher: tantivy.Searcher, fuzzy: list[str]) -> tantivy.Query | None:
        schema = self.schema
        fields = self._boosts(c.field)
        if c.kind == "prefix":
            text = c.text.lower()
            qs = [tantivy.Query.boost_query(
                tantivy.Query.fuzzy_term_query(schema, f, text, distance=0, prefix=True), b) for f, b in fields]
            return tantivy.Query.disjunction_max_query(qs, 0.1) if len(qs) > 1 else qs[0]
        tokens = self._analyzer.analyze(c.text)
        if not tokens:
            return None
        if c.kind == "bag":  # every token an optional term; repeated tokens weigh more (query term frequency)
            parts = []
            for tok in tokens:
                qs = [tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, tok), b) for f, b in fields]
                parts.append((tantivy.Occur.Should, tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in qs])))
            return tantivy.Query.boolean_query(parts)
        if len(tokens) > 1:
            qs = [tantivy.Query.boost_query(tantivy.Query.phrase_query(schema, f, tokens), b) for f, b in fields]
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in qs])
        tok = tokens[0]
        if (
            self.settings.typo_tolerance
            and c.occur != MUST_NOT
            and len(c.text) >= 5
            and c.text.isalpha()
            and all(searcher.doc_freq(f, tok) == 0 for f, _ in fields)
        ):
            distance = 1 if len(c.text) < 9 else 2
            fuzzy.append(c.text)
            qs = [tantivy.Query.boost_query(tantivy.Query.fuzzy_term_query(schema, f, tok, distance=distance), b)
                  for f, b in fields]
        else:
            qs = [tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, tok), b) for f, b in fields]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in qs])

    def build(self, parsed: ParsedQuery, searcher: tantivy.Searcher, principals: list[str] | None,
              source_ids: dict[str, str]) -> tuple[tantivy.Query, tantivy.Query | None, list[str]]:
        """(full query, text-only query for snippets or None, fuzzy words)."""
        fuzzy: list[str] = []
        text_parts: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for c in parsed.clauses:
            q = self._clause_query(c, searcher, fuzzy)
            if q is not None:
                text_parts.append((_OCCUR[c.occur], q))
        positive = [p for p in text_parts if p[0] != tantivy.Occur.MustNot]
        parts = list(text_parts)
        if not positive:
            parts.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        text_query = tantivy.Query.boolean_query(parts)
        filters = filter_queries(self.schema, parsed.filters, source_ids)
        if principals is not None:
            filters.append(acl_query(self.schema, principals))
        if filters:
            full = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, text_query)] + [(tantivy.Occur.Must, f) for f in filters]
            )
        else:
            full = text_query
        return full, (text_query if positive else None), fuzzy

    def search(
        self,
        parsed: ParsedQuery,
        limit: int = 10,
        offset: int = 0,
        principals: list[str] | None = None,
        source_ids: dict[str, str] | None = None,
        snippets: bool = True,
    ) -> LexicalResult:
        """Documents ranked by their best passage. Snippets are made for the returned page only."""
        t0 = time.perf_counter()
        searcher = self.index.searcher()
        query, text_query, fuzzy = self.build(parsed, searcher, principals, source_ids or {})
        want = offset + limit
        fetch = max(want * 3, 30)
        while True:
            res = searcher.search(query, fetch, count=True)
            addrs = [a for _, a in res.hits]
            keys = searcher.fast_field_values("iid", addrs) if addrs else []
            groups: dict[str, tuple[float, tantivy.DocAddress]] = {}
            for (score, addr), key in zip(res.hits, keys):
                iid = iid_hex(key)
                if iid not in groups:
                    groups[iid] = (score, addr)
            if len(groups) >= want or len(res.hits) >= res.count or fetch >= 50_000:
                break
            fetch *= 4
        if res.count <= len(res.hits):
            total = len(groups)
        else:
            total = max(len(groups), int(round(searcher.cardinality(query, "iid"))))
        ranked = list(groups.items())[offset:want]
        addrs = [a for _, (_, a) in ranked]
        ords = searcher.fast_field_values("ord", addrs) if addrs else []
        pages = searcher.fast_field_values("page", addrs) if addrs else []
        hits = [PassageHit(iid, float(score), int(o or 0), int(p) or None, "", "", [])
                for (iid, (score, _)), o, p in zip(ranked, ords, pages)]
        if snippets:
            snip = self.snippeter(searcher, text_query)
            for h, (_, (_, addr)) in zip(hits, ranked):
                body = searcher.doc(addr).get_first("body") or ""
                h.snippet, h.snippet_html, h.highlights = snip(body)
        return LexicalResult(hits, total, fuzzy, (time.perf_counter() - t0) * 1000)

    def snippeter(self, searcher: tantivy.Searcher | None, text_query: tantivy.Query | None):
        """A function ``text -> (snippet, snippet_html, highlight ranges)`` for a query's words."""
        gen = None
        if text_query is not None:
            searcher = searcher or self.index.searcher()
            gen = tantivy.SnippetGenerator.create(searcher, text_query, self.schema, "body")
            gen.set_max_num_chars(self.settings.snippet_chars)
        n = self.settings.snippet_chars

        def make(body: str) -> tuple[str, str, list[tuple[int, int]]]:
            snippet, html, ranges = "", "", []
            if gen is not None and body:
                doc = tantivy.Document()
                doc.add_text("body", body)
                sn = gen.snippet_from_doc(doc)
                snippet = sn.fragment()
                if sn.highlighted():
                    html = sn.to_html()
                    base = sn.fragment_range().start
                    ranges = [(r.start - base, r.end - base) for r in sn.highlighted()]
            if not snippet and body:
                snippet = _lead(body, n)
            return snippet, html or _escape(snippet), ranges

        return make

    def score_items(self, parsed: ParsedQuery, item_ids: list[str]) -> dict[str, float]:
        """BM25 of each listed document's best passage for the query's words (0 when no word matches)."""
        if not item_ids:
            return {}
        searcher = self.index.searcher()
        _, text_query, _ = self.build(parsed, searcher, None, {})
        if text_query is None:
            return {}
        only = tantivy.Query.term_set_query(self.schema, "iid", [iid_key(i) for i in item_ids])
        q = tantivy.Query.boolean_query([(tantivy.Occur.Must, text_query),
                                         (tantivy.Occur.Must, tantivy.Query.const_score_query(only, 0.0))])
        res = searcher.search(q, 50 * len(item_ids), count=False)
        keys = searcher.fast_field_values("iid", [a for _, a in res.hits]) if res.hits else []
        out: dict[str, float] = {}
        for (score, _), key in zip(res.hits, keys):
            iid = iid_hex(key)
            if iid not in out:
                out[iid] = float(score)
        return out

    def analyze(self, text: str) -> list[str]:
        return self._analyzer.analyze(text)

    def text_query(self, parsed: ParsedQuery) -> tantivy.Query | None:
        """The word part of a query (no filters), for highlighting."""
        searcher = self.index.searcher()
        return self.build(parsed, searcher, None, {})[1]


def _lead(text: str, n: int) -> str:
    text = " ".join(text.split())
    if len(text) <= n:
        return text
    cut = text.rfind(" ", 0, n)
    return text[: cut if cut > n // 2 else n] + "…"


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
