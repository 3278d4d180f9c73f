"""One default configuration for every collection (issue 16): the suite measures each collection with the same
configuration object, and nothing in the search path switches on a collection's name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import DATA, NO_DATA

SRC = Path(__file__).resolve().parents[1] / "src" / "spyglass"


@pytest.mark.skipif(not (DATA / "beir").is_dir(), reason=NO_DATA)
def test_the_suite_uses_one_configuration_object_for_every_collection(monkeypatch, tmp_path):
    from spyglass.evaluation import runner, suite

    seen = []

    def record(path, mode, config, cache, progress):  # the evaluation of one collection and mode
        seen.append((path.name, mode, id(config)))
        return {"ndcg@10": 0.5}

    monkeypatch.setattr(runner, "eval_beir", record)
    res = suite.run_suite(DATA, tmp_path)
    assert len({c for *_, c in seen}) == 1, "one configuration object for every collection"
    assert {"keyword", "semantic", "hybrid"} == {m for _, m, _ in seen}
    assert set(res["collections"]) >= {"scifact"} if (DATA / "beir" / "scifact").exists() else True


def test_no_collection_name_steers_search():
    """No string literal in the search path names a collection (docstrings and the packaged model's file aside)."""
    import ast

    names = re.compile(r"(?<![a-z])(scifact|squad|cranfield|cisi|xquad|nfcorpus|msmarco)", re.I)
    offenders = []
    for layer in ("core", "index", "retrieval", "ranking", "models", "app"):
        for p in (SRC / layer).rglob("*.py"):
            tree = ast.parse(p.read_text())
            docs = {id(n.body[0].value) for n in ast.walk(tree)
                    if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                    and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                        and names.search(node.value) and not node.value.endswith((".txt", ".json"))):
                    offenders.append(f"{p.relative_to(SRC)}:{node.lineno}: {node.value[:60]!r}")
    assert not offenders, offenders
