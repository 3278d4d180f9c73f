"""Keyword retrieval over the tantivy index: BM25 with per-field boosts, phrases, prefixes, typo tolerance, filters
and access control, passages grouped into documents (a document scores as its best passage), snippets."""

from __future__ import annotations

import time

import tantivy

from spyglass.core import acl
from spyglass.core.config import SearchSettings
from spyglass.core.query import MUST, MUST_NOT, SHOULD, Clause, ParsedQuery, SearchRequest
from spyglass.core.terms import QUERY_STOP
from spyglass.core.types import Hit, Ranking
from spyglass.index.lexical import LexicalIndex, analyzer, bigrams, iid_hex, iid_key
from spyglass.retrieval.filters import acl_query, filter_queries

_OCCUR = {MUST: tantivy.Occur.Must, SHOULD: tantivy.Occur.Should, MUST_NOT: tantivy.Occur.MustNot}


EXACT_COUNT = 5_000  # matching passages up to which a search counts its documents exactly (a few ms)

class LexicalRetriever:
    """BM25 over tantivy. ``run(request, k)`` is the retriever contract (:class:`spyglass.core.protocols.Retriever`);
    :meth:`search` also pages and makes snippets, for keyword-only searches."""

    name = "keyword"

    def __init__(self, index: LexicalIndex, settings: SearchSettings | None = None) -> None:
        self.index = index
        self.schema = index.schema
        self.settings = settings or SearchSettings()
        self._analyzer = analyzer()
        self._stop = {t for w in QUERY_STOP for t in self._analyzer.analyze(w)}  # as the index spells them
        self._known = _ExistsCache()

    def _boosts(self, field: str | None) -> list[tuple[str, float]]:
        s = self.settings
        all_fields = [("title", s.title_boost), ("path", s.path_boost), ("body", s.body_boost)]
        return [(f, b) for f, b in all_fields if field is None or f == field]

    def _clause_query(self, c: Clause, searcher: tantivy.Searcher, fuzzy: list[str],
                      readable: tantivy.Query | None = None, reader_key: tuple[str, ...] = ()
                      ) -> tantivy.Query | None:
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
        grams = bigrams(c.text) if c.field in (None, "body", "title") else []
        if c.kind == "bag" or (grams and c.kind == "term"):
            # every token an optional term (repeated tokens weigh more: query term frequency); text in scripts
            # without spaces also matches by its character bigrams, never as one strict phrase
            parts = []
            for tok in self._content(tokens):
                qs = [tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, tok), b) for f, b in fields]
                parts.append((tantivy.Occur.Should, tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in qs])))
            parts += [(tantivy.Occur.Should, tantivy.Query.boost_query(tantivy.Query.term_query(schema, "cjk", g),
                                                                      self.settings.body_boost)) for g in grams]
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
            and not self._known.exists(searcher, schema, [f for f, _ in fields], tok, readable, reader_key)
        ):
            distance = 1 if len(c.text) < 9 else 2
            fuzzy.append(c.text)
            qs = [tantivy.Query.boost_query(tantivy.Query.fuzzy_term_query(schema, f, tok, distance=distance), b)
                  for f, b in fields]
        else:
            qs = [tantivy.Query.boost_query(tantivy.Query.term_query(schema, f, tok), b) for f, b in fields]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in qs])

    def _content(self, tokens: list[str]) -> list[str]:
        """The tokens without question and stop words (:data:`spyglass.core.terms.QUERY_STOP`), unless nothing else
        is left."""
        if not self.settings.stopwords:
            return tokens
        content = [t for t in tokens if t not in self._stop]
        return content or tokens

    def _without_stop_words(self, clauses: list[Clause]) -> list[Clause]:
        """Optional one-word clauses that are stop words go when other positive clauses are left."""
        if not self.settings.stopwords:
            return clauses

        def stop(c: Clause) -> bool:
            if c.occur != SHOULD or c.kind != "term" or c.field not in (None, "body"):
                return False
            toks = self._analyzer.analyze(c.text)
            return bool(toks) and all(t in self._stop for t in toks)

        kept = [c for c in clauses if not stop(c)]
        return kept if any(c.occur != MUST_NOT for c in kept) else clauses

    def build(self, parsed: ParsedQuery, searcher: tantivy.Searcher, principals: acl.Principals,
              source_ids: dict[str, str]) -> tuple[tantivy.Query, tantivy.Query | None, list[str]]:
        """(full query, text-only query for snippets or None, fuzzy words). Whether a word "exists" (else typos are
        tolerated) is decided among the documents the caller may read only, so the ``fuzzy`` list reveals nothing of
        anyone else's documents."""
        fuzzy: list[str] = []
        readable = acl_query(self.schema, principals)
        reader_key = () if readable is None else tuple(sorted(set(acl.require(principals))))
        text_parts: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for c in self._without_stop_words(parsed.clauses):
            q = self._clause_query(c, searcher, fuzzy, readable, reader_key)
            if q is not None:
                text_parts.append((_OCCUR[c.occur], q))
        positive = [p for p in text_parts if p[0] != tantivy.Occur.MustNot]
        parts = list(text_parts)
        if not positive:
            parts.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        text_query = tantivy.Query.boolean_query(parts)
        filters = filter_queries(self.schema, parsed.filters, source_ids)
        if readable is not None:
            filters.append(readable)
        if filters:
            full = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, text_query)] + [(tantivy.Occur.Must, f) for f in filters]
            )
        else:
            full = text_query
        return full, (text_query if positive else None), fuzzy

    def run(self, request: SearchRequest, k: int | None = None) -> Ranking:
        """The top ``k`` (default ``request.depth``) documents for fusion: no snippets, no paging."""
        return self.search(request.parsed, limit=k or request.depth, principals=request.principals,
                           source_ids=request.source_ids, snippets=False)

    def search(
        self,
        parsed: ParsedQuery,
        *,
        principals: acl.Principals,
        limit: int = 10,
        offset: int = 0,
        source_ids: dict[str, str] | None = None,
        snippets: bool = True,
    ) -> Ranking:
        """Documents ranked by their best passage (MaxP). Snippets are made for the returned page only."""
        t0 = time.perf_counter()
        searcher = self.index.searcher()
        query, text_query, fuzzy = self.build(parsed, searcher, principals, source_ids or {})
        want = offset + limit
        groups, total = self._grouped(searcher, query, want)
        ranked = list(groups.items())[offset:want]
        addrs = [a for _, (_, a) in ranked]
        ords = searcher.fast_field_values("ord", addrs) if addrs else []
        pages = searcher.fast_field_values("page", addrs) if addrs else []
        hits = [Hit(iid, float(score), int(o or 0), int(p) or None, {self.name: offset + i + 1})
                for i, ((iid, (score, _)), o, p) in enumerate(zip(ranked, ords, pages))]
        if snippets:
            snip = self.snippeter(searcher, text_query)
            for h, addr in zip(hits, addrs):
                h.snippet, h.snippet_html, h.highlights = snip(searcher.doc(addr).get_first("body") or "")
        return Ranking(hits, abs(total), fuzzy, {self.name: (time.perf_counter() - t0) * 1000}, exact=total >= 0)

    @staticmethod
    def _grouped(searcher: tantivy.Searcher, query: tantivy.Query, want: int
                 ) -> tuple[dict[str, tuple[float, tantivy.DocAddress]], int]:
        """Each document's best passage, best first (at least ``want`` documents when there are that many), and the
        number of matching documents: counted exactly up to ``EXACT_COUNT`` matching passages, beyond that estimated by
        tantivy's cardinality aggregation (HyperLogLog) and returned negative to say so."""
        fetch = max(want * 3, 30)
        while True:
            res = searcher.search(query, fetch, count=True)
            addrs = [a for _, a in res.hits]
            keys = searcher.fast_field_values("iid", addrs) if addrs else []
            groups: dict[str, tuple[float, tantivy.DocAddress]] = {}
            for (score, addr), key in zip(res.hits, keys):
                groups.setdefault(iid_hex(key), (score, addr))
            if len(groups) >= want or len(res.hits) >= res.count or fetch >= 50_000:
                break
            fetch *= 4
        if res.count <= len(res.hits):
            return groups, len(groups)
        if res.count <= EXACT_COUNT:  # few enough matching passages: count their documents exactly
            # ordered by the document key, tantivy skips BM25 and hands the keys back with the hits
            every = searcher.search(query, res.count, count=False, order_by_field="iid").hits
            return groups, len({key for key, _ in every})
        return groups, -max(len(groups), int(round(searcher.cardinality(query, "iid"))))

    def matching(self, parsed: ParsedQuery, item_ids: list[str]) -> set[str]:
        """Which of ``item_ids`` satisfy the query's required words and phrases and none of its excluded words (its
        :attr:`~spyglass.core.query.ParsedQuery.constraints`): what every mode must keep of the keyword promise."""
        if not item_ids or not parsed.constraints:
            return set(item_ids)
        searcher = self.index.searcher()
        full, _, _ = self.build(ParsedQuery(parsed.constraints, parsed.filters), searcher, acl.EVERYTHING, {})
        only = tantivy.Query.term_set_query(self.schema, "iid", [iid_key(i) for i in item_ids])
        q = tantivy.Query.boolean_query([(tantivy.Occur.Must, full),
                                         (tantivy.Occur.Must, tantivy.Query.const_score_query(only, 0.0))])
        return set(self._grouped(searcher, q, len(item_ids))[0])

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
        _, text_query, _ = self.build(parsed, searcher, acl.EVERYTHING, {})
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
        return self.build(parsed, searcher, acl.EVERYTHING, {})[1]


class _ExistsCache:
    """Whether a word occurs in a document a caller may read, remembered per searcher (a commit starts afresh) and
    per set of principals, so search-as-you-type and paging ask tantivy once per word."""

    LIMIT = 50_000  # remembered answers before the cache starts again

    def __init__(self) -> None:
        self._state: tuple[tantivy.Searcher | None, dict[tuple, bool]] = (None, {})  # replaced whole, never mixed

    def exists(self, searcher: tantivy.Searcher, schema: tantivy.Schema, fields: list[str], tok: str,
               readable: tantivy.Query | None, reader_key: tuple[str, ...]) -> bool:
        state = self._state
        if state[0] is not searcher or len(state[1]) > self.LIMIT:
            state = self._state = (searcher, {})
        answers = state[1]
        key = (reader_key, tuple(fields), tok)
        known = answers.get(key)
        if known is None:
            known = answers[key] = _exists(searcher, schema, fields, tok, readable)
        return known


def _exists(searcher: tantivy.Searcher, schema: tantivy.Schema, fields: list[str], tok: str,
            readable: tantivy.Query | None) -> bool:
    """Whether an analysed word occurs in any of ``fields`` of a document the caller may read (``readable``: their
    access clause; None: they may read everything). The index's document frequencies answer "nowhere" for free; a
    word that occurs somewhere costs one search, over the fields that hold it, restricted to the readable documents."""
    present = [f for f in fields if searcher.doc_freq(f, tok) > 0]
    if readable is None or not present:
        return bool(present)
    word = tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.term_query(schema, f, tok))
                                        for f in present])
    q = tantivy.Query.boolean_query([(tantivy.Occur.Must, word), (tantivy.Occur.Must, readable)])
    return bool(searcher.search(q, 1, count=False).hits)


def _lead(text: str, n: int) -> str:
    text = " ".join(text.split())
    if len(text) <= n:
        return text
    cut = text.rfind(" ", 0, n)
    return text[: cut if cut > n // 2 else n] + "…"


def _escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
