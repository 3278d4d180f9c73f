"""Second stages: the cross-encoder slot (plumbing, with a tiny ONNX graph built here), the learned ranker's packaged
model, MaxSim, and the default staying off."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spyglass.app.spyglass import Spyglass
from spyglass.core.config import Config

DOCS = {
    "short.txt": "solar panels",
    "medium.txt": "solar panels convert sunlight into electricity for homes",
    "long.txt": "solar panels convert sunlight into electricity for homes and businesses, and batteries store "
                "the surplus for the night when the panels produce nothing at all",
}


def tiny_cross_encoder(path: Path) -> None:
    """logit = number of passage tokens (token_type_id 1) — a stand-in whose ranking is known in advance."""
    import onnx
    from onnx import TensorProto, helper

    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "seq"])
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [
        helper.make_node("Mul", ["token_type_ids", "attention_mask"], ["passage"]),
        helper.make_node("Cast", ["passage"], ["passage_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["passage_f", "axes"], ["logits"], keepdims=1),
    ]
    graph = helper.make_graph(nodes, "tiny_ce", inputs, [out], initializer=[axes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


@pytest.fixture(scope="module")
def idx(tmp_path_factory):
    root = tmp_path_factory.mktemp("rr") / "docs"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text)
    home = tmp_path_factory.mktemp("home")
    sg = Spyglass(home)
    sg.index([str(root)])
    sg.close()
    return home


def test_cross_encoder_slot_scores_query_passage_pairs(idx, tmp_path):
    from spyglass.models.embedder import resolve

    model = tmp_path / "ce.onnx"
    tiny_cross_encoder(model)
    cfg = Config()
    cfg.rerank.cross_encoder = str(model)
    cfg.rerank.cross_encoder_tokenizer = str(resolve("minilm-l6-int8").tokenizer)
    sg = Spyglass(idx, config=cfg)
    res = sg.search("solar panels", rerank="cross-encoder")
    assert [h.extra["name"] for h in res.hits] == ["long.txt", "medium.txt", "short.txt"]
    # the logit is the passage's token count: pairs were encoded with token types 0 (query) and 1 (passage)
    tok = sg.parts.cross_encoder()._tok
    n_long = sum(tok.encode("solar panels", DOCS["long.txt"]).type_ids)
    assert res.hits[0].score == pytest.approx(n_long)
    sg.close()


def test_cross_encoder_missing_file_is_a_clear_error(idx):
    cfg = Config()
    cfg.rerank.cross_encoder = "/nonexistent/ce.onnx"
    sg = Spyglass(idx, config=cfg)
    with pytest.raises(Exception, match="cross-encoder .* not found"):
        sg.search("solar", rerank="cross-encoder")
    sg.close()


def test_ltr_and_maxsim_rerank_and_default_is_off(idx):
    sg = Spyglass(idx)
    assert sg.config.rerank.default == ""  # not on by default: it loses on data it was not tuned on
    base = sg.search("solar electricity")
    assert all("ltr_input" not in h.signals for h in base.hits)
    for kind in ("ltr", "maxsim"):
        res = sg.search("solar electricity", rerank=kind)
        assert {h.extra["name"] for h in res.hits} == set(DOCS)
        assert [h.score for h in res.hits] == sorted((h.score for h in res.hits), reverse=True)
    sg.close()


def test_maxsim_formula():
    from spyglass.ranking.rerankers import MaxSim

    class Fake:
        def token_vectors(self, texts):
            # [CLS] t1 t2 [SEP]: unit vectors along axes
            eye = np.eye(4, dtype=np.float32)
            if texts == ["q"]:
                return [np.stack([eye[3], eye[0], eye[1], eye[3]])]
            return [np.stack([eye[3], eye[0], eye[2], eye[3]]), np.stack([eye[3], eye[0], eye[1], eye[3]])]

    s = MaxSim(Fake()).score("q", ["d1", "d2"])
    assert s == [pytest.approx(1.0 + 0.0), pytest.approx(1.0 + 1.0)]


def test_packaged_ranker_matches_the_feature_list():
    from spyglass.ranking.ltr import LtrRanker

    r = LtrRanker()
    r.warm_up()
    assert len(r.score([[1.0] * 9, [0.0] * 9])) == 2
