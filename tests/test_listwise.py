"""The reader's listwise loss (``TrainSettings.listwise``): one question's pairs compete in a softmax with a fixed
"no answer" logit 0. The tests write the formula out and compare."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from conftest import DATA, NO_DATA

torch = pytest.importorskip("torch", reason="torch is not installed: pip install 'spyglass[train]'")
SQUAD = DATA / "qa" / "squad2-dev" / "dev-v2.0.json"


def _loss(rels: list[float], labels: list[int]) -> float:
    """−log of the softmax mass of the positives among (0, r₁ … r_k); the "no answer" slot when none is positive."""
    z = [0.0] + rels
    pos = [not any(labels)] + [bool(y) for y in labels]
    log_all = math.log(sum(math.exp(v) for v in z))
    return log_all - math.log(sum(math.exp(v) for v, p in zip(z, pos) if p))


def test_the_listwise_loss_is_the_written_formula_averaged_over_questions():
    from spyglass.training.trainer import listwise_loss

    rel = [1.5, -0.3, 0.2, 0.4, -2.0, 0.9, 0.1]
    y = [0, 1, 0, 0, 0, 1, 1]  # question 0: one positive; question 1: none (unanswerable); question 2: two
    g = [0, 0, 0, 1, 1, 2, 2]
    want = (_loss(rel[0:3], y[0:3]) + _loss(rel[3:5], y[3:5]) + _loss(rel[5:7], y[5:7])) / 3
    got = listwise_loss(torch.tensor(rel), torch.tensor(y, dtype=torch.float32), torch.tensor(g))
    assert float(got) == pytest.approx(want, rel=1e-6)


def test_with_one_pair_per_question_it_is_the_binary_cross_entropy():
    from spyglass.training.trainer import listwise_loss

    rel, y = torch.tensor([0.7, -1.2, 2.5]), torch.tensor([1.0, 0.0, 0.0])
    bce = torch.nn.functional.binary_cross_entropy_with_logits(rel, y)
    assert float(listwise_loss(rel, y, torch.tensor([0, 1, 2]))) == pytest.approx(float(bce), rel=1e-6)


def test_whole_question_batches_never_split_a_question_and_hold_every_pair_once():
    from spyglass.training.trainer import Encoded, batches

    rng = random.Random(3)
    ex = []
    for q in range(50):
        for _ in range(rng.randint(1, 6)):
            n = rng.randint(8, 60)
            ex.append(Encoded(np.zeros(n, np.int64), np.zeros(n, np.int64), 0.0, -1, -1, q))
    out = batches(ex, 16, random.Random(7), whole=True)
    assert sorted(i for b in out for i in b) == list(range(len(ex)))
    where = {}
    for k, b in enumerate(out):
        for i in b:
            assert where.setdefault(ex[i].group, k) == k  # a question's pairs all in one batch
    assert all(len(b) <= 16 for b in out if len({ex[i].group for i in b}) > 1)  # only a lone question may exceed
    assert batches(ex, 16, random.Random(7), whole=True) == out  # seeded: the same batches again


@pytest.mark.skipif(not SQUAD.is_file(), reason=NO_DATA)
def test_a_reader_trains_with_the_listwise_loss_and_records_it(tmp_path):
    from spyglass.models.answerer import OnnxReader
    from spyglass.training.pipeline import DataSettings, default_settings, run

    s = default_settings("answerer")
    s.max_length, s.epochs, s.batch_size, s.listwise = 48, 1, 8, 1.0
    card = run("answerer", tmp_path, DataSettings(squad=SQUAD, max_questions=6, max_val=4), s)
    assert card["hyper_parameters"]["reader"]["listwise"] == 1.0 and card["training"]["steps"] >= 1
    assert all(math.isfinite(v) for row in card["training"]["loss_curve"] for v in row)
    r = OnnxReader(str(tmp_path / "reader-int8.onnx")).read("Who was the chief engineer?", ["It was Maria Lindqvist."])
    assert len(r) == 1 and 0.0 <= r[0].p <= 1.0
