"""The lexical index: tantivy, one document per passage.

``iid`` (the item id as an integer) is a fast field, so passages are grouped into documents without loading them.
Fields: ``title``, ``path`` and ``body`` are analysed with the same analyser (words of letters, marks and digits in any
script — each character of a script written without spaces, Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar,
is a word of its own — then lower-case, ASCII folding, Snowball English stemmer), so a query is analysed once and
searched in all three with BM25 and per-field boosts. ``cjk`` holds the overlapping character bigrams of the title and
body's runs in those scripts (the standard segmentation-free indexing of CJK text, as in Lucene's CJKAnalyzer), so a
Chinese question matches by bigrams while quoted phrases match character by character in ``body``. ``type``, ``ext``, ``source``, ``folder`` (every ancestor folder) and ``acl`` (principals) are raw terms for
filters; ``modified`` and ``size`` are fast fields for ranges. Only ``body`` is stored (for snippets); everything else
a result shows comes from the catalog.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import tantivy

from spyglass.index.catalog import ItemRow

LEX_SCHEMA = 4
ANALYZER = "spyglass_en"
BIGRAMS = "spyglass_bigrams"
TEXT_FIELDS = ("title", "path", "body")
# Scripts written without spaces between words: Han, Hiragana, Katakana, Hangul, Thai, Lao, Khmer, Myanmar.
_UNSPACED = (r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}")
WORDS = rf"[{_UNSPACED}]|[[\p{{L}}\p{{M}}\p{{N}}]--[{_UNSPACED}]]+"  # tantivy's (Rust) regex syntax
_UNSPACED_RUN = re.compile(  # the same scripts for Python's re: code point ranges
    "[\u1000-\u109f\u0e00-\u0eff\u1780-\u17ff\u1100-\u11ff\u3040-\u30ff\u31f0-\u31ff\u3130-\u318f"
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\U00020000-\U0002fa1f]+")


def bigrams(text: str) -> list[str]:
    """Overlapping character bigrams of each run of unspaced-script characters (a lone character stands for
    itself): ``"北京大学"`` → ``["北京", "京大", "大学"]``."""
    out: list[str] = []
    for run in _UNSPACED_RUN.findall(text):
        out.extend(run[i : i + 2] for i in range(max(1, len(run) - 1)))
    return out


def analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(WORDS))
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("iid", indexed=True, fast=True)  # the item id (16 hex digits) as a signed 64-bit integer
    sb.add_unsigned_field("ord", stored=True, fast=True)
    sb.add_unsigned_field("page", stored=True, fast=True)
    sb.add_text_field("title", tokenizer_name=ANALYZER, index_option="position")
    sb.add_text_field("path", tokenizer_name=ANALYZER, index_option="position")
    sb.add_text_field("body", stored=True, tokenizer_name=ANALYZER, index_option="position")
    sb.add_text_field("cjk", tokenizer_name=BIGRAMS, index_option="freq")
    sb.add_text_field("author", tokenizer_name="default", index_option="position")
    sb.add_text_field("type", fast=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("ext", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("source", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("folder", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("acl", tokenizer_name="raw", index_option="basic")
    sb.add_date_field("modified", indexed=True, fast=True)
    sb.add_unsigned_field("size", indexed=True, fast=True)
    return sb.build()


def folders_of(path: str) -> list[str]:
    """``/a/b/c.txt`` -> ``['/a', '/a/b']`` (every ancestor folder, for ``--folder`` filters)."""
    parts = path.split("/")
    return ["/".join(parts[:i]) or "/" for i in range(2, len(parts))]


def iid_key(item_id: str) -> int:
    """An item id (16 hex digits) as the signed 64-bit integer stored in the ``iid`` field."""
    v = int(item_id, 16)
    return v - (1 << 64) if v >= (1 << 63) else v


def iid_hex(key: int) -> str:
    return f"{key & 0xFFFFFFFFFFFFFFFF:016x}"


def _date(ts: float | None) -> datetime:
    return datetime.fromtimestamp(ts if ts is not None else 0, tz=timezone.utc)


class LexicalIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.schema = build_schema()
        self.index = tantivy.Index(self.schema, path=str(path), reuse=True)
        self.index.register_tokenizer(ANALYZER, analyzer())
        self.index.register_tokenizer(BIGRAMS, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
        self._writer: tantivy.IndexWriter | None = None
        self._searcher: tantivy.Searcher | None = None
        self._stamp: object = None

    @staticmethod
    def destroy(path: Path) -> None:
        if path.exists():
            shutil.rmtree(path)

    # -- writing ------------------------------------------------------------------------------------------------
    def writer(self) -> tantivy.IndexWriter:
        if self._writer is None:
            threads = max(1, min(2, os.cpu_count() or 1))
            self._writer = self.index.writer(heap_size=128_000_000 * threads, num_threads=threads)
        return self._writer

    def remove(self, iid: str) -> None:
        self.writer().delete_documents_by_term("iid", iid_key(iid))

    def put(self, item: ItemRow, ext: str) -> int:
        """Replace an item's passages. Failed and metadata-only items get one passage with no body, so they stay
        findable by name and path."""
        w = self.writer()
        key = iid_key(item.id)
        w.delete_documents_by_term("iid", key)
        title = item.title or item.name
        if item.title and item.title != item.name:
            title = f"{item.title}\n{item.name}"
        folders = folders_of(item.path)
        modified = _date(item.modified)
        principals = item.principals or ["nobody"]
        chunks = item.chunks or [None]
        title_grams = bigrams(title)
        for c in chunks:
            doc = tantivy.Document()
            doc.add_integer("iid", key)
            doc.add_text("title", title)
            doc.add_text("path", item.path)
            doc.add_text("type", item.type)
            doc.add_text("ext", ext)
            doc.add_text("source", str(item.source_id))
            for f in folders:
                doc.add_text("folder", f)
            for p in principals:
                doc.add_text("acl", p)
            doc.add_date("modified", modified)
            doc.add_unsigned("size", max(0, item.size))
            if item.author:
                doc.add_text("author", item.author)
            if c is not None:
                doc.add_unsigned("ord", c.ord)
                doc.add_unsigned("page", c.page or 0)
                doc.add_text("body", c.text)
            else:
                doc.add_unsigned("ord", 0)
                doc.add_unsigned("page", 0)
            grams = title_grams + (bigrams(c.text) if c is not None else [])
            if grams:
                doc.add_text("cjk", " ".join(grams))
            w.add_document(doc)
        return len(chunks)

    def commit(self) -> None:
        if self._writer is not None:
            self._writer.commit()

    def close_writer(self) -> None:
        if self._writer is not None:
            self._writer.commit()
            self._writer.wait_merging_threads()
            self._writer = None

    def rollback(self) -> None:
        if self._writer is not None:
            self._writer.rollback()

    # -- reading ------------------------------------------------------------------------------------------------
    def searcher(self) -> tantivy.Searcher:
        """A searcher over the latest commit: reloaded only when ``meta.json`` changed (a commit, here or in another
        process), so a search costs no reload."""
        try:
            st = os.stat(self.path / "meta.json")
            stamp: object = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if self._searcher is None or stamp != self._stamp or self._writer is not None or stamp is None:
            self.index.reload()
            self._searcher, self._stamp = self.index.searcher(), stamp
        return self._searcher
