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


def _learning(sg):
    from spyglass.app.learning import learning

    return learning(sg)


def _id(sg, root: Path, rel: str) -> str:
    return _learning(sg).resolve(str(root / rel), EVERYTHING)["id"]


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
    sg, root = env
    log = sg.activity()
    log.clear()
    res = sg.search("bake flour", mode="hybrid", log_user="carol")
    assert res.search_id is not None
    logged = log.search(res.search_id, "carol")
    assert logged["ids"] == [h.id for h in res.hits] and logged["query"] == "bake flour"
    assert log.search(res.search_id, "mallory") is None  # a search is only its own user's
    it = _learning(sg).record_open("carol", "2", EVERYTHING)
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
    from spyglass.core.errors import NotFoundError

    sg, root = env
    with pytest.raises(NotFoundError):
        _learning(sg).record_event("alice", "open", _id(sg, root, "private/plans.txt"), sg.principals_for("alice"))


# -- suggestions and related files -------------------------------------------------------------------------------

def test_suggest_and_related_blend_use_and_content_and_never_leak(env):
    sg, root = env
    sg.activity().clear()
    lrn = _learning(sg)
    bread, cake, plans = (_id(sg, root, r) for r in ("recipes/bread.txt", "recipes/cake.txt", "private/plans.txt"))
    soup = _id(sg, root, "recipes/soup.txt")
    for _ in range(3):  # three users open bread, then bob's private plans (readable to them then), then cake
        for user in ("bob", "carol", "dave"):
            for doc in (bread, plans, cake):
                sg.activity().log_event(user, "open", doc)
    lrn.record_event("alice", "open", bread, sg.principals_for("alice"))
    lrn.record_event("alice", "open", soup, sg.principals_for("alice"))
    alice = lrn.suggest("alice", sg.principals_for("alice"))
    ids = [s["id"] for s in alice]
    assert plans not in ids and BOB_WORD not in json.dumps(alice)  # shared, but not readable by alice
    assert cake in ids  # opened together with bread by three others
    bob = [s["id"] for s in lrn.suggest("bob", sg.principals_for("bob"))]
    assert plans in bob
    rel = lrn.related(str(root / "recipes/bread.txt"), sg.principals_for("alice"), user="alice")
    names = [os.path.basename(r["path"]) for r in rel["related"]]
    assert "plans.txt" not in names and BOB_WORD not in json.dumps(rel)
    assert names[0] in ("cake.txt", "soup.txt")  # the other recipes: content and co-access
    assert any("co_access" in r["signals"] for r in rel["related"])
    assert lrn.suggest("nobody", EVERYTHING) == []


def test_shared_rule_formulas_by_hand():
    import numpy as np

    from spyglass.ranking.personal import MIN_USERS
    from spyglass.recommend.data import Interactions
    from spyglass.recommend.itemknn import ItemKNN
    from spyglass.recommend.markov import MarkovChain
    from spyglass.recommend.related import co_access
    from spyglass.recommend.shared import SHARED_MIN_USERS, others_of, others_view, pair_count, shared_items

    assert MIN_USERS == SHARED_MIN_USERS  # the ranker's usage features follow the same rule
    uses = {"me": ["a", "b"], "u1": ["a", "b", "x"], "u2": ["a", "b"], "u3": ["a", "c"]}
    others = others_of(uses, "me")
    assert others["a"] == {"u1", "u2", "u3"} and shared_items(others, 3) == {"a"}
    assert others_view(uses, "me", 2) == {"u1": ["a", "b"], "u2": ["a", "b"], "u3": ["a"]}  # x, c: one user each
    assert pair_count(others["a"], others["b"], 2) == 2 and pair_count(others["a"], others["b"], 3) == 0
    # related, k = 2: n_ab = mine 1 + others 2; n_a = 1 + 3; n_b = 1 + 2
    assert co_access("a", uses, "me", 2)["b"] == pytest.approx(3 / math.sqrt(4 * 3))
    # k = 3: the others' pair (2) and b's others (2) fall below it; only my own co-use counts: 1 / sqrt(4 * 1)
    assert co_access("a", uses, "me", 3)["b"] == pytest.approx(1 / math.sqrt(4 * 1))
    assert co_access("a", uses, None, 3)["b"] == pytest.approx(3 / math.sqrt(4 * 3))  # no caller: all are others
    assert co_access("a", uses, None, 4) == {}
    # item-kNN, user 0 exempt: items 0 and 1 co-occur for users 0 and 1; the others' part (1) is below support 2
    data = Interactions(3, 3, [[0, 1], [0, 1], [0, 2]])
    plain, floor = ItemKNN().fit(data), ItemKNN(min_support=2, exempt=0).fit(data)
    assert plain.similar(np.array([1]), np.array([0]))[0, 0] == pytest.approx(2 / math.sqrt(2 * 3), rel=1e-5)
    assert floor.similar(np.array([1]), np.array([0]))[0, 0] == pytest.approx(1 / math.sqrt(2 * 3), rel=1e-5)
    # Markov: 0 -> 2 was made by one other user only (dropped at support 2); my own 0 -> 1 always counts
    mc = MarkovChain(beta=1.0, min_support=2, exempt=0).fit(data)
    assert mc.next[0].get(2, 0) == 0 and mc.next[0][1] == 1


# -- the ranker trained from each user's own log ------------------------------------------------------------------

COOKING = ("warm food", "cooking", "dinner recipe", "lentils onions", "what to cook", "kitchen", "vegetables")


def _search_and_open(sg, user: str, queries, pick) -> None:
    """``user`` searches each query and opens the result ``pick(ids)`` chooses (None: opens nothing)."""
    for q in queries:
        ids = [h.id for h in sg.search(q, mode="hybrid", log_user=user, limit=10).hits]
        chosen = pick(ids)
        if chosen in ids:
            _learning(sg).record_open(user, str(ids.index(chosen) + 1), EVERYTHING)


def test_train_ranker_refuses_a_young_log_and_writes_nothing(env):
    from spyglass.ranking.user_training import MIN_SEARCHES, NotEnoughData

    sg, root = env
    sg.activity().clear()
    sg.close()
    soup = _id(sg, root, "recipes/soup.txt")
    _search_and_open(sg, "erin", COOKING[:6], lambda ids: soup)  # six searches (issue 14.7)
    with pytest.raises(NotEnoughData, match=f"6 of your searches.*at least {MIN_SEARCHES}.*spyglass train ranker"):
        _learning(sg).train_ranker("erin", EVERYTHING)
    assert sg.learned_model("erin") is None and not sg.parts.user_rankers().folder("erin").exists()
    sg.activity().clear()


def test_train_ranker_deploys_on_a_held_out_gain_for_its_user_only_and_clear_removes_it(env):
    sg, root = env
    sg.activity().clear()
    sg.close()
    soup = _id(sg, root, "recipes/soup.txt")
    for _ in range(3):  # erin opens the soup recipe, wherever it is shown
        _search_and_open(sg, "erin", COOKING, lambda ids: soup)
    out = _learning(sg).train_ranker("erin", EVERYTHING)
    ev = out["evaluation"]
    assert out["train_searches"] == 15 and ev["held_out_searches"] == 6  # the latest quarter (21 -> 6)
    assert ev["learned"]["ndcg@10"] > ev["hybrid"]["ndcg@10"] and ev["ndcg@10_gain"] > 0
    assert out["deployed"] and not out["forced"] and sg.learned_model("erin").name == out["model"]
    pointer = json.loads((sg.learned_model("erin").parent / "ranker.json").read_text())
    assert pointer["user"] == "erin" and pointer["evaluation"] == ev
    res = sg.search("cooking", mode="hybrid", as_user="erin")
    assert "learned_input" in res.hits[0].signals  # erin's own searches run it
    assert all("learned_input" not in h.signals for h in sg.search("cooking", mode="hybrid").hits)  # no user
    assert all("learned_input" not in h.signals for h in sg.search("cooking", mode="hybrid", as_user="alice").hits)
    kw = sg.search("cooking", mode="keyword", as_user="erin")
    assert all("learned_input" not in h.signals for h in kw.hits)  # keyword mode is left as asked
    # erasing erin's activity removes what was trained on it (and the shared ranker of an older version)
    (sg.home / "models/ranker-20240101-000000.txt").write_text("old")
    (sg.home / "models/ranker.json").write_text('{"model": "ranker-20240101-000000.txt"}')
    assert _learning(sg).clear("erin") == {"erased": 42, "models_removed": 2}
    assert sg.learned_model("erin") is None and not list((sg.home / "models").rglob("ranker*"))
    assert all("learned_input" not in h.signals for h in sg.search("cooking", mode="hybrid", as_user="erin").hits)


def test_a_ranker_that_loses_on_the_latest_searches_is_not_deployed_unless_forced(env):
    from typer.testing import CliRunner

    from spyglass.cli.main import app

    sg, root = env
    sg.activity().clear()
    sg.close()
    soup = _id(sg, root, "recipes/soup.txt")
    _search_and_open(sg, "gina", COOKING + COOKING[:6] + COOKING[:3], lambda ids: soup)  # 16 opens of soup...
    latest = ("kitten sofa", "alpine glacier", "coast lighthouses", "bread dough", "cake sugar", "string at night")
    _search_and_open(sg, "gina", latest, lambda ids: ids[0])  # ...then the latest 6 want hybrid's first result
    cli = ["train", "ranker", "--as-user", "gina", "--home", str(sg.home)]
    r = CliRunner().invoke(app, cli + ["--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    ev = out["evaluation"]
    assert ev["held_out_searches"] == 6 and ev["hybrid"]["ndcg@10"] == 1.0  # they opened hybrid's first result
    assert ev["learned"]["ndcg@10"] < 1.0 and ev["ndcg@10_gain"] < 0 and {"mrr"} <= set(ev["learned"])
    assert not out["deployed"] and out["model"] is None and sg.learned_model("gina") is None
    assert not sg.parts.user_rankers().folder("gina").exists()  # the losing candidate is not kept
    r = CliRunner().invoke(app, cli + ["--force"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "plain hybrid 1.000" in text and "deployed anyway (--force): it loses" in text
    assert sg.learned_model("gina") is not None
    assert _learning(sg).clear("gina")["models_removed"] == 1


def test_the_learned_ranker_is_personal(env):
    """Two users ask the same questions and open different recipes; each one's ranker, trained on their own log only,
    puts their own choice first for them (usage features as of each search, so no row sees its own click)."""
    sg, root = env
    sg.activity().clear()
    sg.close()
    likes = {"carol": _id(sg, root, "recipes/bread.txt"), "dave": _id(sg, root, "recipes/soup.txt")}
    queries = ("recipe", "cooking", "dinner", "food", "kitchen", "what to make", "something warm", "bake or simmer",
               "meal", "lunch")
    for user, target in likes.items():
        _search_and_open(sg, user, queries + queries, lambda ids, t=target: t)
    for user in likes:
        out = _learning(sg).train_ranker(user, EVERYTHING, force=True)
        assert out["features"][-5:] == ["user_uses", "user_folder_uses", "popularity", "co_access", "age_days"]
        assert {"path_overlap", "type_doc", "type_mail", "type_media"} <= set(out["features"])
        assert out["deployed"] and out["user"] == user
    for user, target in likes.items():
        assert sg.search("recipe ideas", mode="hybrid", log_user=user).hits[0].id == target, user
    _learning(sg).clear(None)


def test_time_ordered_split_holds_out_the_latest_searches():
    from spyglass.ranking.user_training import MIN_SEARCHES, NotEnoughData, Search, split

    def s(n, clicked=True):
        return Search(n, 100.0 + n, f"q{n}", ["a", "b"], 0, {"b"} if clicked else set())

    log = [s(n, clicked=n % 4 != 3) for n in range(30)]  # 23 with a click
    earlier, held = split(list(reversed(log)))
    assert [x.id for x in held] == [22, 24, 25, 26, 28, 29]  # the latest ceil(23 / 4) = 6 with a click
    assert [x.id for x in earlier] == list(range(22))  # unclicked searches before the cut still train (EM)
    with pytest.raises(NotEnoughData):
        split(log[: MIN_SEARCHES])  # 15 clicked


def test_click_metrics_by_hand():
    from spyglass.ranking.click_metrics import click_metrics

    theta = [1.0, 0.5, 0.25]
    # search 1: clicked d shown at 1, ranked 2nd; search 2: clicked e shown at 3 (weight 1/0.25 = 4), ranked 1st
    m = click_metrics([(["x", "d"], [("d", 1)]), (["e"], [("e", 3)])], theta)
    assert m["ndcg@10"] == pytest.approx((1 / math.log2(3) + 4 * 1.0) / 5, abs=1e-4)
    assert m["mrr"] == pytest.approx((0.5 + 4) / 5, abs=1e-4) and m["clicks"] == 2
    assert click_metrics([(["x"], [("d", 2)])], theta)["ndcg@10"] == 0.0  # not returned at all
    clipped = click_metrics([(["x", "d"], [("d", 1)]), (["e"], [("e", 3)])], theta, clip=0.5)  # weight 2, not 4
    assert clipped["mrr"] == pytest.approx((0.5 + 2) / 3, abs=1e-4)


def test_usage_features_formulas_and_time_travel():
    from spyglass.ranking.personal import Usage

    ev = [("ann", 1.0, "a"), ("bob", 2.0, "a"), ("bob", 3.0, "b"), ("ann", 4.0, "b"), ("ann", 5.0, "a"),
          ("cy", 2.5, "a"), ("cy", 2.6, "b")]
    u = Usage(ev, {"a": "/x", "b": "/x"}, {"a": 0.0}, min_users=2)
    u.describe = lambda ids: {i: ("/y", 86400.0 * 2) for i in ids if i == "c"}  # c: in the catalog, never used
    # as of t=4.5: ann used a once and b once (both in /x); others: a by bob and cy, b by bob and cy
    (ra, rb, rc) = u.rows("ann", ["a", "b", "c"], 4.5)
    assert ra[0] == pytest.approx(math.log1p(1)) and ra[1] == pytest.approx(math.log1p(2))
    assert ra[2] == pytest.approx(math.log1p(2)) and rb[2] == pytest.approx(math.log1p(2))  # 2 others each
    assert ra[3] == pytest.approx(2 / math.sqrt(2 * 2))  # a co-used with ann's recent b by bob and cy
    assert rc[:4] == [0.0, 0.0, 0.0, 0.0]
    assert u.rows("ann", ["c"], 3 * 86400.0)[0][4] == pytest.approx(math.log1p(1.0))  # age from the catalog
    # below the threshold other users count for nothing
    strict = Usage(ev, {}, {}, min_users=3)
    assert strict.rows("ann", ["a"], 4.5)[0][2:4] == [0.0, 0.0]
    # earlier in time: the row must not see later uses (a training row never sees its own click)
    assert u.rows("ann", ["b"], 3.5)[0][0] == 0.0 and u.rows("ann", ["a"], 1.0)[0][0] == 0.0
    assert u.rows("ann", ["a"], 10.0)[0][0] == pytest.approx(math.log1p(2))
    u.extend([("ann", 11.0, "a")])
    assert u.rows("ann", ["a"], 12.0)[0][0] == pytest.approx(math.log1p(3))


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
    assert run("activity", "clear", "--as-user", "frank") == {"erased": 2, "models_removed": 0}


def test_edits_are_logged_for_the_owner_and_feed_suggestions(tmp_path):
    import pwd

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
    assert [s["path"].rsplit("/", 1)[1] for s in _learning(sg).suggest(me, EVERYTHING)] == ["b.txt"]
    sg.close_all()


def test_context_features_formula():
    from spyglass.ranking.features import CONTEXT, context_rows

    rows = context_rows(["a", "b", "c"], ["budget", "2024"], {"a": {"finance", "budget"}, "b": set()},
                        {"a": "xlsx", "b": "email", "c": "pdf"})
    assert len(rows[0]) == len(CONTEXT)
    named = [dict(zip(CONTEXT, r)) for r in rows]
    assert named[0]["path_overlap"] == 0.5 and named[0]["type_sheet"] == 1.0 and sum(rows[0][1:]) == 1.0
    assert named[1]["path_overlap"] == 0.0 and named[1]["type_mail"] == 1.0
    assert named[2]["type_doc"] == 1.0 and sum(rows[2][1:]) == 1.0


def test_user_rankers_store_each_users_versions_in_their_own_folder(tmp_path):
    from spyglass.ranking.user_rankers import UserRankers

    store = UserRankers(tmp_path / "models")
    odd = "../../etc/passwd"
    folder = store.folder(odd)
    assert folder.parent == tmp_path / "models" / "users" and len(folder.name) == 24  # any name is a safe folder
    folder.mkdir(parents=True)
    for name in ("ranker-1.txt", "ranker-2.txt"):
        (folder / name).write_text("model")
    store.deploy(odd, folder / "ranker-2.txt", {"evaluation": {}})
    assert store.current(odd) == folder / "ranker-2.txt" and store.current("someone else") is None
    assert store.current(None) is None and store.ranker(None) is None
    # a pointer copied into another user's folder does not make it theirs
    other = store.folder("mallory")
    other.mkdir()
    (other / "ranker.json").write_text((folder / "ranker.json").read_text())
    assert store.current("mallory") is None
    (folder / "ranker.json").write_text(json.dumps({"user": odd, "model": "../ranker-1.txt"}))
    assert store.current(odd) is None  # a pointer names a file in its own folder only
    assert store.remove(odd) == 2 and not folder.exists()


def test_a_ranker_learned_from_some_features_reads_its_own_columns_and_adds_its_prior(tmp_path):
    import random as rnd

    from spyglass.ranking.features import FEATURES
    from spyglass.ranking.ltr import LtrRanker, train
    from spyglass.ranking.personal import PERSONAL
    from spyglass.ranking.user_training import prior_score, user_scorer

    rng = rnd.Random(5)
    full = [[[rng.random() for _ in FEATURES + PERSONAL] for _ in range(8)] for _ in range(30)]
    groups = [([r[len(FEATURES):] for r in rows], [int(r[len(FEATURES)] > 0.7) for r in rows]) for rows in full]
    train(groups, tmp_path / "m.txt", rounds=20, names=PERSONAL, params={"min_data_in_leaf": 2},
          init=[[prior_score(2.0, k) for k in range(1, 9)] for _ in groups])
    ranker = LtrRanker(tmp_path / "m.txt")
    rows = full[0]
    direct = ranker._booster.predict([r[len(FEATURES):] for r in rows]) if ranker.score(rows) else None
    assert ranker.score(rows) == pytest.approx(list(direct))  # full rows: the model reads its own columns
    assert ranker.personal and not ranker.context and ranker.columns == list(range(len(FEATURES), len(rows[0])))
    plain = ranker.score(rows)
    with_prior = user_scorer(tmp_path / "m.txt", {"prior": 2.0})(rows)
    assert with_prior == pytest.approx([s + 2.0 / math.log2(1 + k) for k, s in enumerate(plain, 1)])
    assert prior_score(0.0, 1) == 0.0 and prior_score(1.0, 3) == pytest.approx(0.5)
