"""Learning from use: the activity log, position-bias estimation, the ranker trained from the log, suggested and
related files, and the recommenders' formulas."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from spyglass.core.acl import EVERYTHING

BOB_WORD = "quibblefrost"

DOCS = {
    "recipes/bread.txt": "Knead flour, water, yeast and salt into a dough and bake the bread.",
    "recipes/cake.txt": "Beat butter and sugar, fold in flour and eggs, bake the cake.",
    "recipes/soup.txt": "Simmer lentils with onions, carrots and cumin for a warm soup.",
    "trips/alps.txt": "Hiking the alpine trail to the glacier and the summit ridge.",
    "trips/coast.txt": "A road trip along the coast with lighthouses and beaches.",
    "pets/kitten.txt": "The kitten sleeps on the sofa and chases string at night.",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config, UserSettings

    root = tmp_path_factory.mktemp("learn") / "files"
    for rel, text in DOCS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "private").mkdir()
    (root / "private/plans.txt").write_text(f"The {BOB_WORD} plans: bake bread for the merger party.")
    os.chown(root / "private/plans.txt", 50001, 50001)
    (root / "private/plans.txt").chmod(0o600)
    cfg = Config()
    cfg.activity.randomize = False  # deterministic positions in the assertions below
    cfg.users = {"bob": UserSettings(principals=["user:50001"]), "alice": UserSettings()}
    sg = Spyglass(tmp_path_factory.mktemp("home"), config=cfg)
    sg.index([str(root)])
    yield sg, root
    sg.close_all()


def _id(sg, root: Path, rel: str) -> str:
    from spyglass.app.learning import _resolve

    return _resolve(sg, str(root / rel), EVERYTHING)["id"]


# -- formulas ----------------------------------------------------------------------------------------------------

def test_em_recovers_position_bias_from_randomized_logs():
    from spyglass.evaluation.click_sim import simulate, true_propensities
    from spyglass.ranking.propensity import em_propensities

    rng = random.Random(3)
    log = []
    for q in range(400):
        docs = [f"d{q}-{i}" for i in range(10)]
        rel = {d for d in docs if rng.random() < 0.3}
        log += simulate(f"q{q}", docs, rel, rng, sessions=30)
    est = em_propensities(log)
    true = true_propensities(1.0)
    assert est[0] == 1.0
    assert sum(abs(a - b) for a, b in zip(est, true)) / 10 < 0.05
    assert all(a >= b for a, b in zip(est, est[1:]))  # examination falls with the position


def test_ipw_relevance_by_hand():
    from spyglass.ranking.propensity import grade, ipw_relevance

    log = [("q", "a", 1, 1), ("q", "a", 1, 0), ("q", "b", 4, 1), ("q", "b", 4, 0)]
    theta = [1.0, 0.5, 0.33, 0.25]
    r = ipw_relevance(log, theta)
    assert r[("q", "a")] == pytest.approx(0.5) and r[("q", "b")] == pytest.approx((1 / 0.25) / 2)
    naive = ipw_relevance(log, None)
    assert naive[("q", "a")] == naive[("q", "b")] == pytest.approx(0.5)
    assert grade(2.0) == 4 and grade(0.5) == 2 and grade(0.0) == 0


def test_itemknn_and_markov_formulas_by_hand():
    import numpy as np

    from spyglass.recommend.data import Interactions
    from spyglass.recommend.itemknn import ItemKNN
    from spyglass.recommend.markov import MarkovChain

    data = Interactions(3, 3, [[0, 1], [0, 1, 2], [2, 0]])
    knn = ItemKNN().fit(data)
    # item 0: users {0,1,2}; item 1: {0,1}; item 2: {1,2} -> cos(0,1) = 2/sqrt(3*2)
    assert knn.similar(np.array([0]), np.array([1]))[0, 0] == pytest.approx(2 / math.sqrt(6), rel=1e-5)
    mc = MarkovChain(beta=1.0).fit(data)
    # transitions: 0->1 twice, 1->2 once, 2->0 once; popularity of item 1 = 2/7
    assert mc.score_after(0, np.array([1]))[0] == pytest.approx((2 + 2 / 7) / (2 + 1))


def test_als_ranks_co_consumed_items_first():
    import numpy as np

    from spyglass.recommend.als import ImplicitALS
    from spyglass.recommend.data import Interactions

    # two taste groups: users 0-9 use items 0-4, users 10-19 use items 5-9; user 0 has not seen item 4 yet
    seqs = [[i for i in range(5) if not (u == 0 and i == 4)] for u in range(10)] + \
           [list(range(5, 10)) for _ in range(10)]
    als = ImplicitALS(factors=4, iterations=10).fit(Interactions(20, 10, seqs))
    s = als.score(0, np.arange(10))
    assert s[4] > s[5:].max()


# -- the activity log --------------------------------------------------------------------------------------------

def test_searches_and_opens_are_logged_and_clearable(env):
    from spyglass.app.learning import record_open

    sg, root = env
    log = sg.activity()
    log.clear()
    res = sg.search("bake flour", mode="hybrid", log_user="carol")
    assert res.search_id is not None
    logged = log.search(res.search_id, "carol")
    assert logged["ids"] == [h.id for h in res.hits] and logged["query"] == "bake flour"
    assert log.search(res.search_id, "mallory") is None  # a search is only its own user's
    it = record_open(sg, "carol", "2", EVERYTHING)
    ev = log.events("carol")[-1]
    assert (ev["kind"], ev["item_id"], ev["search_id"], ev["position"]) == ("open", res.hits[1].id, res.search_id, 2)
    assert it["id"] == res.hits[1].id
    assert log.counts("carol") == {"searches": 1, "events": 1}
    assert log.clear("carol") == 2 and log.counts("carol") == {"searches": 0, "events": 0}


def test_randomization_swaps_one_adjacent_pair_only_in_logged_searches(env):
    sg, root = env
    plain = [h.id for h in sg.search("bake flour sugar", mode="keyword").hits]
    sg.config.activity.randomize, share = True, sg.config.activity.randomize_share
    sg.config.activity.randomize_share = 1.0
    try:
        shown = [h.id for h in sg.search("bake flour sugar", mode="keyword", log_user="dave").hits]
    finally:
        sg.config.activity.randomize, sg.config.activity.randomize_share = False, share
    diff = [i for i, (a, b) in enumerate(zip(plain, shown)) if a != b]
    assert sorted(plain) == sorted(shown) and len(diff) == 2 and diff[1] == diff[0] + 1
    assert [h.id for h in sg.search("bake flour sugar", mode="keyword").hits] == plain


def test_opening_an_unreadable_document_is_refused(env):
    from spyglass.app.learning import record_event
    from spyglass.core.errors import NotFoundError

    sg, root = env
    with pytest.raises(NotFoundError):
        record_event(sg, "alice", "open", _id(sg, root, "private/plans.txt"), sg.principals_for("alice"))


# -- suggestions and related files -------------------------------------------------------------------------------

def test_suggest_and_related_blend_use_and_content_and_never_leak(env):
    from spyglass.app.learning import record_event, related, suggest

    sg, root = env
    sg.activity().clear()
    bread, cake, plans = (_id(sg, root, r) for r in ("recipes/bread.txt", "recipes/cake.txt", "private/plans.txt"))
    soup = _id(sg, root, "recipes/soup.txt")
    for _ in range(3):  # bob opens bread, then his private plans, then cake
        for doc in (bread, plans, cake):
            record_event(sg, "bob", "open", doc, sg.principals_for("bob"))
    record_event(sg, "alice", "open", bread, sg.principals_for("alice"))
    record_event(sg, "alice", "open", soup, sg.principals_for("alice"))
    alice = suggest(sg, "alice", sg.principals_for("alice"))
    ids = [s["id"] for s in alice]
    assert plans not in ids and BOB_WORD not in json.dumps(alice)
    assert cake in ids  # opened together with bread by someone else
    bob = [s["id"] for s in suggest(sg, "bob", sg.principals_for("bob"))]
    assert plans in bob
    rel = related(sg, str(root / "recipes/bread.txt"), sg.principals_for("alice"))
    names = [os.path.basename(r["path"]) for r in rel["related"]]
    assert "plans.txt" not in names and BOB_WORD not in json.dumps(rel)
    assert names[0] in ("cake.txt", "soup.txt")  # the other recipes: content and co-access
    assert any("co_access" in r["signals"] for r in rel["related"])
    assert suggest(sg, "nobody", EVERYTHING) == []


# -- the ranker trained from the log -----------------------------------------------------------------------------

def test_train_ranker_from_the_log_then_searches_use_it(env):
    from spyglass.app.learning import record_open, train_ranker
    from spyglass.core.errors import SpyglassError

    sg, root = env
    sg.activity().clear()
    with pytest.raises(SpyglassError):
        train_ranker(sg)  # nothing logged
    sg.close()
    # users search and open the soup recipe, whatever its position
    target = _id(sg, root, "recipes/soup.txt")
    for q in ("warm food", "cooking", "dinner recipe", "lentils onions", "what to cook", "kitchen", "vegetables"):
        for _ in range(3):
            res = sg.search(q, mode="hybrid", log_user="erin")
            pos = [h.id for h in res.hits].index(target) + 1 if target in [h.id for h in res.hits] else None
            if pos:
                record_open(sg, "erin", str(pos), EVERYTHING)
    out = train_ranker(sg)
    assert out["queries"] >= 5 and (sg.home / "models" / out["model"]).exists()
    assert json.loads((sg.home / "models/ranker.json").read_text())["model"] == out["model"]
    res = sg.search("cooking", mode="hybrid")
    assert "learned_input" in res.hits[0].signals  # the learned stage ran
    kw = sg.search("cooking", mode="keyword")
    assert all("learned_input" not in h.signals for h in kw.hits)  # keyword mode is left as asked
    (sg.home / "models/ranker.json").unlink()  # without a model: plain hybrid again
    assert all("learned_input" not in h.signals for h in sg.search("cooking", mode="hybrid").hits)


def test_cli_open_suggest_activity_json(env, tmp_path):
    sg, root = env
    spy = [str(Path(sys.executable).parent / "spyglass")]
    environ = {**os.environ, "SPYGLASS_HOME": str(sg.home)}

    def run(*args):
        r = subprocess.run(spy + list(args) + ["--json"], capture_output=True, text=True, env=environ)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    s = run("search", "bread", "--as-user", "frank", "--mode", "keyword")
    assert s["search_id"]
    opened = run("open", "1", "--as-user", "frank")
    assert opened["id"] == s["results"][0]["id"]
    act = run("activity", "show", "--as-user", "frank")
    assert act["counts"] == {"searches": 1, "events": 1}
    assert run("suggest", "--as-user", "frank")["suggestions"][0]["id"] == opened["id"]
    assert run("activity", "clear", "--as-user", "frank")["erased"] == 2


def test_edits_are_logged_for_the_owner_and_feed_suggestions(tmp_path):
    import pwd

    from spyglass.app.learning import suggest
    from spyglass.app.spyglass import Spyglass
    from conftest import keyword_config

    root = tmp_path / "files"
    root.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (root / name).write_text(f"first draft of {name}")
    sg = Spyglass(tmp_path / "home", config=keyword_config())
    sg.index([str(root)])
    assert sg.activity().events(kinds=("edit",)) == []  # a first index is not an edit
    sg.close()
    (root / "b.txt").write_text("second draft, rewritten")
    os.utime(root / "b.txt", (1_700_000_000, 1_700_000_000))
    (root / "c.txt").touch()  # a new time, the same content: not an edit
    sg.index()
    me = pwd.getpwuid(os.getuid()).pw_name
    edits = sg.activity().events(kinds=("edit",))
    assert [(e["user"], e["at"]) for e in edits] == [(me, 1_700_000_000.0)]
    assert [s["path"].rsplit("/", 1)[1] for s in suggest(sg, me, EVERYTHING)] == ["b.txt"]
    sg.close_all()


def test_the_learned_ranker_is_personal(env):
    """Two users ask the same questions and open different recipes; the ranker trained from the log puts each
    user's own choice first for them (usage features as of each search, so no row sees its own click)."""
    from spyglass.app.learning import record_open, train_ranker

    sg, root = env
    sg.activity().clear()
    sg.close()
    likes = {"carol": _id(sg, root, "recipes/bread.txt"), "dave": _id(sg, root, "recipes/soup.txt")}
    queries = ("recipe", "cooking", "dinner", "food", "kitchen", "what to make", "something warm", "bake or simmer")
    for q in queries:
        for user, target in likes.items():
            res = sg.search(q, mode="hybrid", log_user=user, limit=10)
            ids = [h.id for h in res.hits]
            if target in ids:
                record_open(sg, user, str(ids.index(target) + 1), EVERYTHING)
    out = train_ranker(sg)
    assert out["features"][-5:] == ["user_uses", "user_folder_uses", "popularity", "co_access", "age_days"]
    assert {"path_overlap", "type_doc", "type_mail", "type_media"} <= set(out["features"])
    assert out["gain"]["user_uses"] > 0
    for user, target in likes.items():
        assert sg.search("recipe ideas", mode="hybrid", log_user=user).hits[0].id == target, user
    (sg.home / "models/ranker.json").unlink()
    sg.activity().clear()


def test_usage_features_formulas_and_time_travel():
    from spyglass.ranking.personal import Usage

    ev = [("ann", 1.0, "a"), ("bob", 2.0, "a"), ("bob", 3.0, "b"), ("ann", 4.0, "b"), ("ann", 5.0, "a")]
    u = Usage(ev, {"a": "/x", "b": "/x", "c": "/y"}, {"a": 0.0, "c": 86400.0 * 2})
    # as of t=4.5: ann used a once and b once (both in /x); a used by ann and bob; b by bob and ann
    (ra, rb, rc) = u.rows("ann", ["a", "b", "c"], 4.5)
    assert ra[0] == pytest.approx(math.log1p(1)) and ra[1] == pytest.approx(math.log1p(2))
    assert ra[2] == pytest.approx(math.log1p(2)) and rb[2] == pytest.approx(math.log1p(2))
    assert ra[3] == pytest.approx(2 / math.sqrt(2 * 2))  # a co-accessed with ann's recent b by both users
    assert rc == [0.0, 0.0, 0.0, 0.0, pytest.approx(math.log1p(4.5 / 86400 - 2) if 4.5 > 2 * 86400 else 0.0)]
    # earlier in time: the row must not see later uses (a training row never sees its own click)
    assert u.rows("ann", ["b"], 3.5)[0][0] == 0.0 and u.rows("ann", ["a"], 1.0)[0][0] == 0.0
    assert u.rows("ann", ["a"], 10.0)[0][0] == pytest.approx(math.log1p(2))
    u.extend([("ann", 11.0, "a")])
    assert u.rows("ann", ["a"], 12.0)[0][0] == pytest.approx(math.log1p(3))


def test_context_features_formula():
    from spyglass.ranking.features import CONTEXT, context_rows

    rows = context_rows(["a", "b", "c"], ["budget", "2024"], {"a": {"finance", "budget"}, "b": set()},
                        {"a": "xlsx", "b": "email", "c": "pdf"})
    assert len(rows[0]) == len(CONTEXT)
    named = [dict(zip(CONTEXT, r)) for r in rows]
    assert named[0]["path_overlap"] == 0.5 and named[0]["type_sheet"] == 1.0 and sum(rows[0][1:]) == 1.0
    assert named[1]["path_overlap"] == 0.0 and named[1]["type_mail"] == 1.0
    assert named[2]["type_doc"] == 1.0 and sum(rows[2][1:]) == 1.0
