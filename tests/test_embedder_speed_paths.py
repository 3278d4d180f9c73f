"""The embedder's fast paths compute the vectors of the file as shipped (issue 17.4): the fused graph, batches by a
token budget, windows of long texts; int8 moves vectors a little and says so in its model id; a CUDA device that is
not there fails with the extra's name. Nothing here is timed (speed lives in benchmarks/bench_embed.py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("onnxruntime")

from spyglass.core.errors import MissingExtraError, SpyglassError  # noqa: E402
from spyglass.models.embedder import OnnxEmbedder  # noqa: E402

LONG = ("Whisk the eggs with sugar, fold in the flour and bake the cake in a warm oven. " * 20
        + "Then the guitarist tuned the strings and played a long solo on the stage. " * 4)
TEXTS = ["A man is playing a guitar.", "Someone performs music on an instrument.", LONG,
         "The stock market crashed today.", "", "Ünïcödé and 数字 1234 — punctuation!?", LONG[:900],
         "Protein folding " * 60, "short"]


@pytest.fixture(scope="module")
def shipped():
    e = OnnxEmbedder(graph="as-is")
    e.warm_up()
    assert e.runs_as == "as-is"
    return e


@pytest.fixture(scope="module")
def fused():
    e = OnnxEmbedder(graph="fused", batch_size=0, batch_tokens=600)
    e.warm_up()
    assert e.runs_as == "fused"
    return e


def cosines(a, b):
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_fused_graph_and_token_budget_give_the_shipped_vectors(shipped, fused):
    assert len(fused.windows([LONG])[0]) > 1  # the long text goes through windows on both paths
    ref, new = shipped.embed(TEXTS), fused.embed(TEXTS)
    assert cosines(ref, new).min() >= 0.9999
    assert fused.model_id == shipped.model_id  # same vectors: an index made by one is kept by the other


def test_token_vectors_match_the_shipped_graph(shipped, fused):
    for a, b in zip(shipped.token_vectors(TEXTS[:4]), fused.token_vectors(TEXTS[:4])):
        assert a.shape == b.shape
        assert cosines(a, b).min() >= 0.9999


def test_a_text_gets_the_same_vector_alone_or_in_any_batch(fused):
    alone = np.stack([fused.embed([t])[0] for t in TEXTS[:4]])
    assert cosines(alone, fused.embed(TEXTS)[:4]).min() >= 0.9999


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 256), max_size=80), st.sampled_from([0, 1, 3, 16]), st.sampled_from([0, 256, 1000]))
def test_batches_cover_every_text_once_within_the_budget(lengths, batch_size, budget):
    e = OnnxEmbedder(batch_size=batch_size or (0 if budget else 16), batch_tokens=budget)
    batches = e.batches(lengths)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        assert b
        if e.batch_size:
            assert len(b) <= e.batch_size
        if budget and len(b) > 1:  # one text longer than the budget still goes, alone
            assert len(b) * max(lengths[i] for i in b) <= budget
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)  # length-sorted: little padding


def test_int8_moves_the_vectors_a_little_and_says_so(fused):
    e = OnnxEmbedder(precision="int8")
    v = e.embed(TEXTS)
    assert e.runs_as == "fused-int8"
    assert cosines(fused.embed(TEXTS), v).min() >= 0.97  # retrieval quality: BENCHMARKS.md
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert e.model_id != fused.model_id  # an index never mixes int8 and fp32 vectors


def test_without_onnx_the_file_runs_as_shipped(monkeypatch, shipped):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    e = OnnxEmbedder()
    v = e.embed(TEXTS[:3])
    assert e.runs_as == "as-is"
    assert cosines(shipped.embed(TEXTS[:3]), v).min() >= 0.9999
    with pytest.raises(MissingExtraError, match="onnx"):
        OnnxEmbedder(precision="int8").warm_up()


def test_cuda_without_the_gpu_extra_names_it(monkeypatch):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed here")
    with pytest.raises(MissingExtraError, match=r"spyglass\[gpu\]") as err:
        OnnxEmbedder(device="cuda").warm_up()
    assert "onnxruntime-gpu" in str(err.value) and 'device = "cpu"' in str(err.value)


def test_cuda_provider_that_cannot_start_is_an_error():
    from spyglass.models.devices import check_device

    class CpuOnly:
        def get_providers(self):
            return ["CPUExecutionProvider"]

    with pytest.raises(SpyglassError, match="could not start CUDA"):
        check_device("cuda", CpuOnly())
    check_device("cpu", CpuOnly())


def test_unknown_settings_are_refused_with_the_setting_named():
    with pytest.raises(SpyglassError, match=r"\[embedding\]"):
        OnnxEmbedder(precision="fp16")
    with pytest.raises(SpyglassError, match=r"\[embedding\]"):
        OnnxEmbedder(device="tpu")


def test_the_evaluation_cache_tells_int8_indexes_from_fp32(tmp_path):
    from spyglass.core.config import Config
    from spyglass.evaluation.runner import settings_key

    for name in ("corpus.jsonl", "queries.jsonl"):
        (tmp_path / name).write_text("{}\n")
    fp32, int8 = Config(), Config()
    int8.embedding.precision = "int8"
    assert settings_key(fp32, tmp_path) != settings_key(int8, tmp_path)
