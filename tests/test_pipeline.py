"""The search pipeline's contracts (issue 15): every retriever and every reranker keeps the one-hit-type contract,
the ACL rule has one builder whose edge cases hold in SQL and in tantivy alike, and nothing below the app layer is
handed an app object to call back."""

from __future__ import annotations

import sys

import pytest

from spyglass.app.spyglass import Spyglass
from spyglass.core import acl
from spyglass.core.acl import EVERYTHING
from spyglass.core.config import Config
from spyglass.core.protocols import Reranker, Retriever
from spyglass.core.types import Ranking

DOCS = {
    "solar.txt": "Solar panels convert sunlight into electricity for homes and businesses.",
    "wind.txt": "Wind turbines turn moving air into electricity on hills and at sea.",
    "bread.txt": "Knead the dough, let it rise overnight and bake the bread in a hot oven.",
    "notes.txt": "Meeting notes: the electricity bill for the office rose again this quarter.",
    "private.txt": "The private diary of the office manager: electricity, bread and wind.",
}


@pytest.fixture(scope="module")
def sg(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipe") / "docs"
    root.mkdir()
    for name, text in DOCS.items():
        (root / name).write_text(text)
    (root / "private.txt").chmod(0o600)
    s = Spyglass(tmp_path_factory.mktemp("home"), config=Config())
    s.index([str(root)])
    s.close()
    yield s
    s.close()


def _request(sg, text: str, principals=EVERYTHING, **kw):
    from spyglass.app.search import make_request

    return make_request(sg.parts, text, principals=principals, syntax="plain", snippets=False, rerank="none", **kw)


def _check_ranking(r: Ranking) -> None:
    ids = [h.id for h in r.hits]
    assert len(ids) == len(set(ids)), "a document appears once"
    scores = [h.score for h in r.hits]
    assert scores == sorted(scores, reverse=True), "best first"
    assert r.total >= len(r.hits)


def test_every_retriever_keeps_the_contract(sg):
    pipe = sg.parts.pipeline()
    for retriever in (pipe.lexical, pipe.dense):
        assert isinstance(retriever, Retriever)
        r = retriever.run(_request(sg, "electricity at home"), 10)
        _check_ranking(r)
        assert [h.ranks[retriever.name] for h in r.hits] == list(range(1, len(r.hits) + 1))
        assert retriever.name in r.timings
        assert retriever.run(_request(sg, "electricity", principals=[]), 10).hits == []  # sees nothing
        outsider = {h.id for h in retriever.run(_request(sg, "electricity diary", principals=["everyone"]), 10).hits}
        owner = {h.id for h in retriever.run(_request(sg, "electricity diary"), 10).hits}
        assert outsider < owner  # the private file is the difference


def _rerankers(sg, tmp_path):
    from test_rerank import tiny_cross_encoder

    from spyglass.models.embedder import resolve

    model = tmp_path / "ce.onnx"
    tiny_cross_encoder(model)
    cfg = Config()
    cfg.rerank.cross_encoder = str(model)
    cfg.rerank.cross_encoder_tokenizer = str(resolve("minilm-l6-int8").tokenizer)
    s = Spyglass(sg.home, config=cfg)
    return s, s.parts.pipeline().rerankers


def test_every_reranker_keeps_the_contract(sg, tmp_path):
    s, rerankers = _rerankers(sg, tmp_path)
    assert {"ltr", "maxsim", "cross-encoder"} <= set(rerankers)
    pipe = s.parts.pipeline()
    for name, reranker in rerankers.items():
        assert isinstance(reranker, Reranker) and reranker.name == name
        request = _request(s, "electricity for the office")
        before = pipe.candidates(request)
        ids_before = sorted(h.id for h in before.hits)
        scores_before = {h.id: round(h.score, 6) for h in before.hits}
        after = reranker.run(request, before)
        _check_ranking(Ranking(after.hits[: s.config.rerank.k], after.total))  # the scored head is sorted
        assert sorted(h.id for h in after.hits) == ids_before, f"{name}: the same documents, none added or lost"
        assert after.total == before.total and after.fuzzy == before.fuzzy
        for h in after.hits[: s.config.rerank.k]:
            assert h.signals[f"{name}_input"] == scores_before[h.id], f"{name}: keeps the score it came in with"
    s.close()


def test_the_acl_rule_has_one_builder_and_its_edge_cases(sg):
    from spyglass.index.catalog import acl_condition
    from spyglass.retrieval.filters import acl_query

    db = sg.reader().catalog.db
    schema = sg.reader().lexical.schema

    def sql_ids(principals):
        cond, params = acl_condition(principals)
        return {r[0] for r in db.execute(f"SELECT i.id FROM items i WHERE i.status = 'ok' AND {cond}", params)}

    every = sql_ids(EVERYTHING)
    assert len(every) == len(DOCS)
    assert sql_ids([]) == set() and sql_ids(()) == set()  # an empty list sees nothing
    assert sql_ids(["everyone"]) == every - {_id(sg, "private.txt")}
    for bad in (None, "everyone", b"everyone"):
        with pytest.raises(TypeError):
            acl_condition(bad)
        with pytest.raises(TypeError):
            acl_query(schema, bad)
    assert acl_query(schema, EVERYTHING) is None  # no clause
    # tantivy and SQL agree for every kind of value
    for principals in (EVERYTHING, [], ["everyone"], ["user:nobody"], [acl.user(_owner())]):
        lexical = {h.id for h in sg.search("", principals=principals, mode="keyword", limit=100).hits}
        assert lexical == sql_ids(principals), principals


def _owner() -> str:
    import pwd
    import os

    return pwd.getpwuid(os.getuid()).pw_name


def _id(sg, name: str) -> str:
    return sg.reader().catalog.db.execute("SELECT id FROM items WHERE name = ?", (name,)).fetchone()[0]


def test_no_module_below_app_is_handed_an_app_object(sg, tmp_path):
    """Back-calls are invisible to the import test (duck typing): watch every call into a module below ``app`` during
    indexing, searching in every mode, reranking, asking and facets, and fail if any argument is an object of a type
    defined in ``spyglass.app``, ``spyglass.cli`` or ``spyglass.server``."""
    upper = ("spyglass.app", "spyglass.cli", "spyglass.server")
    offences: set[str] = set()

    def profile(frame, event, arg):
        if event != "call":
            return
        mod = frame.f_globals.get("__name__", "")
        if not mod.startswith("spyglass.") or mod.startswith(upper):
            return
        code = frame.f_code
        for name in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
            value = frame.f_locals.get(name)
            if type(value).__module__.startswith(upper):
                offences.add(f"{mod}.{code.co_name}({name}: {type(value).__module__}.{type(value).__name__})")

    root = tmp_path / "more"
    root.mkdir()
    (root / "extra.txt").write_text("Batteries store electricity from solar panels for the night.")
    s, _ = _rerankers(sg, tmp_path)
    sys.setprofile(profile)
    try:
        s.index([str(root)])
        for mode in ("keyword", "semantic", "hybrid"):
            s.search("electricity -bread", mode=mode)
        for rerank in ("ltr", "maxsim", "cross-encoder"):
            s.search("electricity for the office", rerank=rerank)
        s.facets("electricity")
        s.ask("What do solar panels convert sunlight into?")
        s.candidate_features("electricity")
    finally:
        sys.setprofile(None)
        s.close()
    assert not offences, sorted(offences)


def test_no_import_cycles_outside_the_cli():
    import ast
    from pathlib import Path

    src = Path(__file__).resolve().parents[1] / "src"
    mods = {".".join(p.relative_to(src).with_suffix("").parts).removesuffix(".__init__"): p
            for p in (src / "spyglass").rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            graph[m].update(t for t in targets if t in mods and t != m)
    cycles = [c for c in _strongly_connected(graph) if len(c) > 1 and not all(x.startswith("spyglass.cli") for x in c)]
    assert not cycles, cycles


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                out.append(sorted(comp))
    return out


def test_search_is_a_short_composition():
    """Spyglass.search composes (≤ 25 lines, cyclomatic complexity ≤ 10); the policy lives in the pipeline."""
    import ast
    import inspect
    import textwrap

    src = textwrap.dedent(inspect.getsource(Spyglass.search))
    fn = ast.parse(src).body[0]
    body_lines = fn.end_lineno - fn.body[0].lineno + 1  # type: ignore[attr-defined]
    branches = sum(isinstance(n, (ast.If, ast.For, ast.While, ast.IfExp, ast.ExceptHandler, ast.With,
                                  ast.comprehension, ast.Assert)) for n in ast.walk(fn))
    branches += sum(len(n.values) - 1 for n in ast.walk(fn) if isinstance(n, ast.BoolOp))
    assert body_lines <= 25 and branches + 1 <= 10, (body_lines, branches + 1)
