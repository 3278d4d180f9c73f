"""One user's clicks must not steer another's results (issue 13.15): a ranker learned from activity applies only to
the user whose activity trained it, and signals shared across users (popularity, co-access, ALS) count a document or
a pair only once enough distinct users used it (docs/learning.md, "Privacy between users")."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from spyglass.core.acl import EVERYTHING

DOCS = {
    "recipes/bread.txt": "Knead flour, water, yeast and salt into a dough and bake the bread.",
    "recipes/cake.txt": "Beat butter and sugar, fold in flour and eggs, bake the cake.",
    "recipes/soup.txt": "Simmer lentils with onions, carrots and cumin for a warm soup.",
    "recipes/salad.txt": "Toss lettuce, tomatoes and cucumber with olive oil and lemon.",
    "trips/alps.txt": "Hiking the alpine trail to the glacier and the summit ridge.",
    "trips/coast.txt": "A road trip along the coast with lighthouses and beaches.",
    "pets/kitten.txt": "The kitten sleeps on the sofa and chases string at night.",
    "pets/dog.txt": "Walk the dog in the park twice a day and bake it a treat.",
}
QUERIES = ("recipe", "cooking", "dinner", "food", "kitchen", "what to make", "something warm", "bake or simmer",
           "meal ideas", "lunch", "evening meal", "vegetables")
PROBES = ("recipe ideas", "cooking tonight", "walk outside", "bake")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config, UserSettings

    root = tmp_path_factory.mktemp("between") / "files"
    for n, (rel, text) in enumerate(DOCS.items()):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        os.utime(root / rel, (1_600_000_000 + n * 86400,) * 2)  # ages days apart: a view is stable for minutes
    cfg = Config()
    cfg.activity.randomize = False
    cfg.users = {u: UserSettings() for u in ("alice", "bob", "carol", "dave", "erin")}
    sg = Spyglass(tmp_path_factory.mktemp("home"), config=cfg)
    sg.index([str(root)])
    yield sg, root
    sg.close_all()


def _id(sg, root, rel):
    return _learning(sg).resolve(str(root / rel), EVERYTHING)["id"]


def _learning(sg):
    from spyglass.app.learning import learning

    return learning(sg)


def _use(sg, user: str, target: str, rounds: int = 2) -> None:
    """``user`` searches every query ``rounds`` times and opens ``target`` wherever it is shown."""
    for _ in range(rounds):
        for q in QUERIES:
            res = sg.search(q, mode="hybrid", log_user=user)
            ids = [h.id for h in res.hits]
            if target in ids:
                _learning(sg).record_open(user, str(ids.index(target) + 1), sg.principals_for(user))


def _open(sg, user: str, doc: str) -> None:
    _learning(sg).record_event(user, "open", doc, sg.principals_for(user))


def _view(sg, user: str, doc: str) -> str:
    """Everything ``user`` sees that learning could touch: their ranking of the probes, suggestions, related files."""
    sg.close()
    searches = [[dataclasses.asdict(h) for h in sg.search(q, mode="hybrid", as_user=user).hits] for q in PROBES]
    lrn = _learning(sg)
    return json.dumps({"search": searches, "suggest": lrn.suggest(user, sg.principals_for(user)),
                       "related": lrn.related(doc, sg.principals_for(user), user=user)}, sort_keys=True)


def test_one_users_clicks_and_training_leave_another_users_view_byte_identical(env):
    sg, root = env
    bread, soup, kitten, dog = (_id(sg, root, f"{r}.txt") for r in ("recipes/bread", "recipes/soup", "pets/kitten",
                                                                      "pets/dog"))
    # bob has his own history and his own trained ranker
    _use(sg, "bob", soup)
    _open(sg, "bob", bread)
    bob_model = _learning(sg).train_ranker("bob", sg.principals_for("bob"), force=True)
    assert bob_model["deployed"]
    before = _view(sg, "bob", bread)
    # alice clicks other documents (some of them bob's too), opens bread then kitten, and trains her own ranker
    _use(sg, "alice", dog)
    for _ in range(3):
        _open(sg, "alice", bread)
        _open(sg, "alice", kitten)
    alice_model = _learning(sg).train_ranker("alice", sg.principals_for("alice"), force=True)
    assert alice_model["deployed"]
    assert _view(sg, "bob", bread) == before
    # her ranker is hers: her own searches run it
    sg.close()
    assert "learned_input" in sg.search("recipe ideas", mode="hybrid", as_user="alice").hits[0].signals
    # a user without a model, or a search without a user, passes through the learned stage unchanged
    plain = [h.id for h in sg.search("recipe ideas", mode="hybrid", rerank="none").hits]
    assert [h.id for h in sg.search("recipe ideas", mode="hybrid", as_user="carol").hits] == plain
    assert [h.id for h in sg.search("recipe ideas", mode="hybrid").hits] == plain


def test_shared_signals_need_enough_distinct_users(env):
    """Co-access reaches another user only once at least ``SHARED_MIN_USERS`` other users used the pair."""
    from spyglass.recommend.shared import SHARED_MIN_USERS

    sg, root = env
    sg.activity().clear()
    cake, salad, coast = (_id(sg, root, f"{r}.txt") for r in ("recipes/cake", "recipes/salad", "trips/coast"))
    _open(sg, "bob", cake)
    others = ["carol", "dave", "erin", "alice"][:SHARED_MIN_USERS]
    for u in others[:-1]:  # one short of the threshold: nothing reaches bob
        _open(sg, u, cake)
        _open(sg, u, coast)
    lrn = _learning(sg)
    assert coast not in [s["id"] for s in lrn.suggest("bob", sg.principals_for("bob"))]
    assert "co_access" not in json.dumps(lrn.related(cake, sg.principals_for("bob"), user="bob"))
    _open(sg, others[-1], cake)
    _open(sg, others[-1], coast)
    lrn = _learning(sg)
    assert coast in [s["id"] for s in lrn.suggest("bob", sg.principals_for("bob"))]
    rel = {r["id"]: r for r in lrn.related(cake, sg.principals_for("bob"), user="bob")["related"]}
    assert "co_access" in rel[coast]["signals"]
    assert salad not in [s["id"] for s in lrn.suggest("bob", sg.principals_for("bob"))]  # nobody opened it
    sg.activity().clear()
