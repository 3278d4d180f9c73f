"""BEIR datasets (corpus.jsonl, queries.jsonl, qrels/test.tsv), and SQuAD turned into one (question → its paragraph).

For evaluation a corpus is written out as one Markdown file per document (``# title`` then the text) and indexed by
the same pipeline as a user's folder, in a cache directory keyed by the dataset and the settings that change an
index; a second run with the same key reuses it.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from urllib.parse import quote, unquote


def default_cache() -> Path:
    """Where evaluation indexes are kept unless ``--cache`` says otherwise."""
    return Path.home() / ".cache" / "spyglass" / "eval"


def load_queries(path: Path) -> dict[str, str]:
    out = {}
    with open(path / "queries.jsonl") as fh:
        for line in fh:
            d = json.loads(line)
            out[str(d["_id"])] = d["text"]
    return out


def load_qrels(path: Path, split: str = "test") -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path / "qrels" / f"{split}.tsv") as fh:
        reader = csv.reader(fh, delimiter="\t")
        for row in reader:
            if not row or row[0] in ("query-id", "query_id"):
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def doc_filename(doc_id: str) -> str:
    return quote(doc_id, safe="") + ".md"


def doc_id_of(name: str) -> str:
    return unquote(name[:-3] if name.endswith(".md") else name)


def fingerprint(path: Path) -> str:
    h = hashlib.blake2b(digest_size=8)
    for name in ("corpus.jsonl", "queries.jsonl"):
        st = (path / name).stat()
        h.update(f"{name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()


def materialize(path: Path, out: Path) -> int:
    """Write the corpus as Markdown files under ``out`` (once). Returns the number of documents."""
    marker = out / ".complete"
    if marker.exists():
        return int(marker.read_text())
    docs = out / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path / "corpus.jsonl") as fh:
        for line in fh:
            d = json.loads(line)
            title = (d.get("title") or "").strip()
            body = f"# {title}\n\n{d.get('text', '')}\n" if title else f"{d.get('text', '')}\n"
            (docs / doc_filename(str(d["_id"]))).write_text(body)
            n += 1
    marker.write_text(str(n))
    return n


def squad_to_beir(squad_json: Path, out: Path) -> Path:
    """SQuAD 2.0 as a retrieval set: paragraphs are documents (titled by their article), answerable questions are
    queries, each relevant to the paragraph it was asked about."""
    marker = out / ".complete"
    if marker.exists():
        return out
    data = json.loads(squad_json.read_text())["data"]
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    with open(out / "corpus.jsonl", "w") as c, open(out / "queries.jsonl", "w") as q, \
            open(out / "qrels" / "test.tsv", "w") as r:
        r.write("query-id\tcorpus-id\tscore\n")
        for a, art in enumerate(data):
            for p, para in enumerate(art["paragraphs"]):
                pid = f"{a}-{p}"
                c.write(json.dumps({"_id": pid, "title": art["title"].replace("_", " "), "text": para["context"]}) + "\n")
                for qa in para["qas"]:
                    if qa.get("is_impossible"):
                        continue
                    q.write(json.dumps({"_id": qa["id"], "text": qa["question"]}) + "\n")
                    r.write(f"{qa['id']}\t{pid}\t1\n")
    marker.write_text("ok")
    return out
