"""13.9: every size is bounded. The text cap (``limits.max_text_mb``) holds for the extracted text of every format,
the passages of one file are capped (``limits.max_passages``), no passage is longer than a bounded number of
characters, and the embedding pass never holds more than a bounded batch of passages in memory.

The attack: a 50 MB CSV of one row passed the 16 MB cap (73 MB of text, 69,906 passages from one file); with
embeddings on, the indexing process grew to 6.2 GB. The whole bad-input folder is measured in
benchmarks/bench_bad_input.py (peak memory with embeddings on); these tests check each bound with small limits.
"""

from __future__ import annotations

import json
import mailbox
from email.message import EmailMessage
from pathlib import Path

import numpy as np
import pytest

from .secutil import keyword_config, open_sg, rows

CAP_MB = 0.25
CAP = int(CAP_MB * 1024 * 1024)
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


def _words(n_chars: int, sep: str = " ") -> str:
    out, size, i = [], 0, 0
    while size < n_chars:
        w = f"{WORDS[i % len(WORDS)]}{i}"
        out.append(w)
        size += len(w) + len(sep)
        i += 1
    return sep.join(out)


def _docx(path: Path, text: str) -> None:
    import docx

    d = docx.Document()
    d.add_paragraph(text)
    d.save(str(path))


def _mbox(path: Path, text: str) -> None:
    box = mailbox.mbox(str(path))
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "a@example.com", "b@example.com", "big", "<big@x>"
    m.set_content(text)
    box.add(m)
    box.close()


BIG = 4 * CAP  # each file holds four times the cap
MAKERS = {
    "one-row.csv": lambda p: p.write_text(_words(BIG, sep=",")),
    "rows.tsv": lambda p: p.write_text("\n".join(_words(2000, sep="\t") for _ in range(BIG // 2000))),
    "big.txt": lambda p: p.write_text(_words(BIG)),
    "one-line.md": lambda p: p.write_text("# title\n\n" + _words(BIG)),
    "value.json": lambda p: p.write_text(json.dumps({"k": _words(BIG)})),
    "lines.ndjson": lambda p: p.write_text("\n".join(json.dumps({"v": _words(3000)}) for _ in range(BIG // 3000))),
    "doc.yaml": lambda p: p.write_text("k: " + _words(BIG) + "\n"),
    "page.html": lambda p: p.write_text("<html><body><p>" + _words(BIG) + "</p></body></html>"),
    "data.xml": lambda p: p.write_text("<r><v>" + _words(BIG) + "</v></r>"),
    "letter.docx": lambda p: _docx(p, _words(BIG)),
    "mail.mbox": lambda p: _mbox(p, _words(BIG)),
}


@pytest.fixture(scope="module")
def big_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("big")
    for name, make in MAKERS.items():
        make(root / name)
    cfg = keyword_config()
    cfg.limits.max_text_mb = CAP_MB
    sg = open_sg(root.parent / f"{root.name}-home", cfg)
    sg.index([str(root)])
    yield root, sg
    sg.close()


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_the_text_cap_holds_for_every_format(big_index, name):
    root, sg = big_index
    docs = rows(sg, "path = ? AND status = 'ok'", (str(root / name),))
    assert docs, rows(sg, "path = ?", (str(root / name),))
    db = sg.reader().catalog.db
    for d in docs:
        held = db.execute("SELECT coalesce(sum(length(text)), 0) FROM chunks WHERE item_id = ?", (d["id"],)).fetchone()[0]
        assert held <= CAP, (name, d["name"], held)
    cut = [d for d in docs if d["meta"] and "truncated" in json.loads(d["meta"])]
    assert cut, f"{name}: the cut is not recorded"
    assert "limits.max_text_mb" in json.loads(cut[0]["meta"])["truncated"]


def test_passages_per_file_are_capped_and_the_cut_recorded(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    box = mailbox.mbox(str(root / "many.mbox"))
    for i in range(40):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "a@example.com", "b@example.com", f"message {i}"
        m["Message-ID"] = f"<m{i}@x>"
        m.set_content("\n\n".join(_words(300) for _ in range(5)))  # several passages each
        box.add(m)
    box.close()
    (root / "long.txt").write_text("\n\n".join(_words(300) for _ in range(200)))
    cfg = keyword_config()
    cfg.limits.max_passages = 50
    cfg.index.chunk_max_words = 40
    sg = open_sg(tmp_path / "home", cfg)
    sg.index([str(root)])
    db = sg.reader().catalog.db
    for name in ("many.mbox", "long.txt"):
        n = db.execute("SELECT count(*) FROM chunks c JOIN items i ON i.id = c.item_id WHERE i.path = ?",
                       (str(root / name),)).fetchone()[0]
        assert n == 50, (name, n)
    # every message is still there (findable by its subject), those past the cap without their text
    msgs = rows(sg, "path = ? AND parent_id IS NOT NULL", (str(root / "many.mbox"),))
    assert len(msgs) == 40
    assert any("limits.max_passages" in json.loads(m["meta"] or "{}").get("truncated", "") for m in msgs)
    long = rows(sg, "path = ?", (str(root / "long.txt"),))[0]
    assert "limits.max_passages" in json.loads(long["meta"])["truncated"]
    sg.close()


def test_no_passage_is_longer_than_the_bound(tmp_path):
    """A "word" of a megabyte (base64, a minified file, text without spaces) is split, not kept whole."""
    from spyglass.core.types import Segment
    from spyglass.extraction.chunking import chunk_segments, max_passage_chars

    text = "start " + "x" * 1_000_000 + " end"
    chunks = chunk_segments([Segment(text)], 300)
    bound = max_passage_chars(300)
    assert max(len(c.text) for c in chunks) <= bound
    assert sum(len(c.text) for c in chunks) >= 1_000_000  # split, nothing dropped
    for c in chunks:
        assert text[c.start:c.end].strip() == c.text


class _CountingEmbedder:
    """A small deterministic embedder (hashing words into 32 dimensions) that records each call's batch size:
    the embedding pass is under test here, not the model."""

    model_id = "test-hashing-32"
    dim = 32

    def __init__(self) -> None:
        self.calls: list[int] = []

    def embed(self, texts):
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.split():
                out[i, hash(w) % self.dim] += 1.0
            out[i] /= max(np.linalg.norm(out[i]), 1e-9)
        return out


def test_embedding_streams_bounded_batches_of_one_huge_document(tmp_path):
    from spyglass.index.embedding import EMBED_BATCH, sync_vectors

    root = tmp_path / "d"
    root.mkdir()
    (root / "huge.txt").write_text("\n\n".join(f"part{i} {_words(200)}" for i in range(3000)))  # 3,000 passages
    cfg = keyword_config()
    cfg.index.chunk_max_words = 30
    sg = open_sg(tmp_path / "home", cfg)
    sg.index([str(root)])
    sg.close()
    emb = _CountingEmbedder()
    with sg.open_writer() as data:
        res = sync_vectors(data, emb, cfg.embedding)
    assert res["passages"] == sum(emb.calls) >= 3000
    assert max(emb.calls) <= EMBED_BATCH


def test_the_model_never_runs_more_than_the_token_budget_at_once():
    """16 passages of 256 tokens held 700 MB in the model runtime: long passages go in smaller batches (short ones
    still 16 at a time), so the indexing process stays bounded however long the passages are."""
    from spyglass.core.errors import MissingExtraError
    from spyglass.models.embedder import OnnxEmbedder

    e = OnnxEmbedder()
    try:
        e.warm_up()
    except MissingExtraError as exc:
        pytest.skip(str(exc))
    shapes: list[tuple[int, int]] = []
    run = e._run

    def recording(ids):
        shapes.append((len(ids), max(len(x) for x in ids)))
        return run(ids)

    e._run = recording
    vecs = e.embed([_words(3000)] * 20 + ["a short passage"] * 40)
    assert vecs.shape == (60, e.dim)
    assert max(b * n for b, n in shapes) <= e.batch_tokens, shapes
    assert max(b for b, _ in shapes) == e.batch_size, shapes
