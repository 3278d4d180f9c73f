"""Evaluation: metrics against hand-computed values, the registry and its table, and the CI slice of the registry
(a relevance regression turns the test suite red)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import DATA, NO_DATA

from spyglass.evaluation.metrics import evaluate
from spyglass.evaluation.registry import END, START, check_rows, load_registry, render_table

ROOT = Path(__file__).resolve().parents[1]


def test_metrics_match_hand_computed_values():
    qrels = {"q1": {"a": 2, "b": 1}, "q2": {"x": 1}, "q3": {"nothing-relevant": 0}}
    run = {"q1": {"b": 3.0, "c": 2.0, "a": 1.0}, "q2": {"y": 2.0, "z": 1.0}}
    m = evaluate(qrels, run)
    # q1 (trec_eval's nDCG: gain = relevance grade, discount log2(rank + 1)): ranking b, c, a
    dcg = 1 / math.log2(2) + 2 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    ndcg_q1 = dcg / idcg
    assert m["ndcg@10"] == pytest.approx(round((ndcg_q1 + 0.0) / 2, 4), abs=1e-4)
    assert m["recall@100"] == pytest.approx((1.0 + 0.0) / 2)
    assert m["mrr@10"] == pytest.approx((1 / 1 + 0.0) / 2)
    assert m["queries"] == 2  # q3 has no relevant document and is not scored (as in BEIR)


def test_mrr_is_cut_at_10():
    qrels = {"q": {"d11": 1}}
    run = {"q": {f"d{i}": 100.0 - i for i in range(1, 20)}}
    assert evaluate(qrels, run)["mrr@10"] == 0.0


def test_benchmarks_table_is_rendered_from_the_registry():
    text = (ROOT / "BENCHMARKS.md").read_text()
    table = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert table == render_table(load_registry()), "run: spyglass eval table --write BENCHMARKS.md"


def test_registry_rows_are_well_formed():
    rows = load_registry()
    assert len({r.id for r in rows}) == len(rows)
    assert any(r.ci and r.mode == "keyword" for r in rows) and any(r.ci and r.mode == "hybrid" for r in rows)
    retrieval = {"keyword", "semantic", "hybrid"}
    modes = {"beir": retrieval, "squad": retrieval, "squad-qa": {"extractive", "llama-cpp", "openai"},
             "folder-qa": {"extractive", "llama-cpp", "openai"},
             "folders": {"knn", "centroid", "majority", "tfidf-linear"},
             "recs": {"popularity", "itemknn", "als", "markov"}, "asr": {"whisper-base"}, "ocr": {"tesseract"},
             "ltr": {"hybrid", "clicks-naive", "clicks-ipw-em", "clicks-ipw-em-clip", "clicks-ipw-true", "qrels"},
             "ltr-personal": {"hybrid", "learned_shown", "learned_personal_shown", "learned_all",
                              "learned_personal_all"}}
    for r in rows:
        assert r.mode in modes[r.kind], r.id
        assert 0 < r.tolerance < 0.05


@pytest.mark.timeout(1800)  # the first run embeds Cranfield's 1,400 abstracts (~2 min on 2 cores), later runs are cached
@pytest.mark.skipif(not (DATA / "beir" / "scifact").exists(), reason=NO_DATA)
def test_ci_slice_of_the_registry():
    """SciFact keyword, XQuAD-zh keyword (CJK) and Cranfield hybrid: nDCG@10 within tolerance of the registry (each
    collection indexed once, then cached). The whole registry: `spyglass eval check`."""
    rows = [r for r in load_registry() if r.ci]
    results = check_rows(rows, data_dir=DATA)
    bad = [f"{r['id']}: {r['measured']} vs {r['expected']} ± {r['tolerance']}" for r in results if r["status"] != "OK"]
    assert not bad, bad
