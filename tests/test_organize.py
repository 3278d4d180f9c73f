"""Organization: duplicates, topics, tags, folder suggestions, and plans applied with an undo journal.

A real corpus indexed with the packaged embedder; the plan tests move real files and check, byte for byte, that
nothing was lost, overwritten or deleted, and that undo restores the tree exactly.
"""

from __future__ import annotations

import hashlib
import json
import mailbox
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spyglass.core.acl import EVERYTHING

from fixtures import make_message, write_docx

BOB_WORD = "zorbulonite"

DOCS = {
    "cooking/pancakes.txt": "Whisk flour, milk and eggs into a smooth batter, rest it, then fry thin pancakes in "
                            "butter and serve them with lemon and sugar for breakfast.",
    "cooking/bread.txt": "Knead the dough of flour, water, yeast and salt, let it rise overnight, shape a loaf and "
                         "bake the bread in a hot oven until the crust is brown.",
    "cooking/soup.txt": "Simmer onions, carrots and celery in stock, add lentils and cumin, cook the soup for "
                        "forty minutes and season it with salt and pepper.",
    "cooking/cake.txt": "Cream butter with sugar, beat in eggs, fold in flour and bake the sponge cake, then fill "
                        "it with cream and strawberries for dessert.",
    "travel/alps.txt": "We hiked the alpine trail above the valley, crossed a glacier at dawn, reached the summit "
                       "ridge by noon and camped beside a mountain lake under the stars that night. The next "
                       "morning we followed the ridge east, past the old stone hut and the cable car station, down "
                       "through larch forest and meadows full of cows and bells, to the village where the bus to "
                       "the station leaves every hour, and ate cheese and bread on the terrace while it rained.",
    "travel/coast.txt": "A road trip along the coast: cliffs, lighthouses, fishing harbours, ferries between the "
                        "islands, and long evening walks on sandy beaches at sunset.",
    "travel/city.txt": "Three days in the old city: museums, cathedral towers, tram rides, street markets and a "
                       "boat tour on the river canals before the night train home.",
    "pets/kitten.txt": "Our kitten sleeps on the sofa all day, chases string at night, purrs on my lap and "
                       "scratches the furniture whenever we forget to trim her claws.",
    "pets/dog.txt": "The puppy learned to sit and fetch the ball; walks in the park twice a day, a bath after the "
                    "muddy ones, and treats for good behaviour at the vet.",
    "pets/fish.txt": "Clean the aquarium filter weekly, feed the goldfish flakes twice a day, and keep the water "
                     "temperature steady for the tropical fish and the snails.",
}
MAIL = [("Sourdough starter", "Feed the sourdough starter with flour and water every morning, knead the dough, let "
                              "the bread rise slowly overnight and bake the loaf in a very hot oven until the crust "
                              "is dark brown and it sounds hollow when you knock on it."),
        ("Ferry to the islands", "The ferry to the islands leaves the fishing harbour at dawn; from the pier we walk "
                                 "along the cliffs to the lighthouse and spend the evening on the sandy beaches, "
                                 "watching the sunset over the sea before the last boat back.")]
CHAT_DAY = ("Hiking plan for the alpine trail: we cross the glacier at dawn, climb to the summit ridge by noon, camp "
            "beside the mountain lake and walk down through the larch forest to the valley village.")
UNFILED = ("pancake-notes.txt", "Fry the pancakes in butter: a batter of flour, eggs and milk, served with sugar and "
                                "lemon, the breakfast the children like best.")


def _tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its content hash."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _make_corpus(root: Path) -> None:
    from PIL import Image, ImageDraw

    for rel, text in DOCS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / UNFILED[0]).write_text(UNFILED[1])
    # an exact copy, older than the original
    shutil.copy(root / "cooking/bread.txt", root / "travel/bread (1).txt")
    os.utime(root / "travel/bread (1).txt", (1_600_000_000, 1_600_000_000))
    # a near-duplicate: one word changed
    (root / "travel/alps-draft.txt").write_text(DOCS["travel/alps.txt"].replace("noon", "midday"))
    # look-alike images: one picture and a resized copy, and a different picture
    img = Image.new("RGB", (240, 160), "white")
    d = ImageDraw.Draw(img)
    d.rectangle([20, 20, 120, 140], fill="navy")
    d.ellipse([140, 30, 220, 110], fill="orange")
    (root / "pets/photo.png").parent.mkdir(exist_ok=True)
    img.save(root / "pets/photo.png")
    img.resize((120, 80)).save(root / "pets/photo-small.png")
    other = Image.new("RGB", (240, 160), "black")
    ImageDraw.Draw(other).polygon([(0, 160), (120, 0), (240, 160)], fill="green")
    other.save(root / "pets/mountain.png")
    # a generic name with a real title
    write_docx(root / "travel/Document1.docx", ["Packing list for the alpine hiking trip: boots, rope, map."],
               title="Alpine packing list")
    # mail and chat: two messages in a mailbox (one of them also kept in an old mailbox) and a channel-day, all
    # addressed to alice; documents inside container files, which topics and duplicates must see
    for box, msgs in (("mail/inbox.mbox", MAIL), ("mail/old.mbox", MAIL[:1])):
        (root / box).parent.mkdir(exist_ok=True)
        mb = mailbox.mbox(str(root / box))
        for subject, body in msgs:
            mb.add(make_message(subject, body, "carol@example.com", ["alice@example.com"]))
        mb.close()
    export = root / "chat/export"
    (export / "trips").mkdir(parents=True)
    (export / "channels.json").write_text(json.dumps([{"id": "C1", "name": "trips", "members": ["U1"]}]))
    (export / "users.json").write_text(json.dumps([{"id": "U1", "name": "alice",
                                                     "profile": {"email": "alice@example.com", "real_name": "Alice"}}]))
    (export / "trips/2024-05-01.json").write_text(json.dumps([
        {"user": "U1", "ts": "1714550400.0", "text": CHAT_DAY}]))
    # trivial files: a tool's empty JSON lists are not copies anyone made
    (root / "data").mkdir()
    for name in ("empty.json", "empty-copy.json"):
        (root / "data" / name).write_text("[]")
    # bob's private files: a document and an exact copy, readable only by uid 50001
    for rel in ("private/plans.txt", "private/plans-copy.txt"):
        (root / rel).parent.mkdir(exist_ok=True)
        (root / rel).write_text(f"The {BOB_WORD} merger: confidential plans for acquiring the bakery chain, "
                                f"{BOB_WORD} {BOB_WORD} board notes and the offer price.")
        os.chown(root / rel, 50001, 50001)
        (root / rel).chmod(0o600)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from spyglass.app.organize import open_organizer
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config, UserSettings

    root = tmp_path_factory.mktemp("org") / "files"
    root.mkdir()
    _make_corpus(root)
    home = tmp_path_factory.mktemp("home")
    cfg = Config()
    cfg.users = {"bob": UserSettings(principals=["user:50001"]), "alice": UserSettings(emails=["alice@example.com"])}
    cfg.organize.tag_vocabulary = ["recipes", "travel", "animals"]
    sg = Spyglass(home, config=cfg)
    sg.index([str(root)])
    org = open_organizer(sg.parts)
    yield sg, org, root
    org.close()
    sg.close()


def _paths(group: dict) -> list[str]:
    return sorted(os.path.basename(f["path"]) for f in group["files"])


def test_duplicates_exact_near_and_images_with_the_newest_kept(corpus):
    sg, org, root = corpus
    groups = org.duplicates(EVERYTHING, near=0.8)
    by_kind = {}
    for g in groups:
        by_kind.setdefault(g["kind"], []).append(g)
    exact = [g for g in by_kind["exact"] if "bread.txt" in _paths(g)][0]
    assert _paths(exact) == ["bread (1).txt", "bread.txt"]
    keep = [f for f in exact["files"] if f["id"] == exact["keep"]][0]
    assert keep["path"].endswith("cooking/bread.txt")  # the newer copy
    assert any(_paths(g) == ["alps-draft.txt", "alps.txt"] and 0.8 <= g["similarity"] < 1 for g in by_kind["near"])
    assert [_paths(g) for g in by_kind["image"]] == [["photo-small.png", "photo.png"]]
    # unrelated documents are not grouped
    grouped = {p for g in groups for p in _paths(g)}
    assert not grouped & {"soup.txt", "kitten.txt", "mountain.png", "coast.txt"}


def test_duplicates_only_among_what_the_caller_may_read(corpus):
    sg, org, root = corpus
    alice = json.dumps(org.duplicates(sg.principals_for("alice")))
    assert "plans" not in alice and BOB_WORD not in alice
    bob = org.duplicates(sg.principals_for("bob"))
    assert any(_paths(g) == ["plans-copy.txt", "plans.txt"] for g in bob)


def test_minhash_estimate_tracks_true_jaccard():
    from spyglass.organize.minhash import MinHasher, estimate, shingles

    words = [f"w{i}" for i in range(400)]
    a = " ".join(words)
    b = " ".join(words[:300] + [f"x{i}" for i in range(100)])
    sa, sb = shingles(a), shingles(b)
    true = len(sa & sb) / len(sa | sb)
    h = MinHasher(num_perm=256)
    assert abs(estimate(h.signature(sa), h.signature(sb)) - true) < 0.08


def test_ctfidf_formula_by_hand():
    import math

    from spyglass.organize.ctfidf import ctfidf

    counts = {0: {"cake": 3, "the": 1}, 1: {"trail": 2, "the": 2}}
    w = dict(ctfidf(counts)[0])
    avg = (4 + 4) / 2
    assert w["cake"] == pytest.approx(3 / 4 * math.log(1 + avg / 3))
    assert w["the"] == pytest.approx(1 / 4 * math.log(1 + avg / 3))
    assert ctfidf(counts)[0][0][0] == "cake"


def test_silhouette_by_hand():
    import numpy as np

    from spyglass.organize.clustering import silhouette

    x = np.array([[1, 0], [1, 0], [0, 1]], dtype=np.float32)
    # point 0: a = 0 (its twin), b = 1 (cosine distance to the other cluster) -> 1; point 2 is a singleton -> 0
    assert silhouette(x, np.array([0, 0, 1])) == pytest.approx((1 + 1 + 0) / 3)


def test_topics_separate_the_subjects_and_labels_never_leak(corpus):
    sg, org, root = corpus
    built = org.build_topics()
    assert built["k"] >= 2 and built["documents"] >= 14
    topics = org.topics(EVERYTHING)
    where = {}
    for t in topics:
        for e in t["examples"]:
            where[os.path.basename(e["path"])] = t["id"]
    members = org.store.topic_members(EVERYTHING)
    name_of = {iid: os.path.basename(it["path"]) for iid, it in org.catalog.items(
        [i for ids in members.values() for i in ids]).items()}
    topic_of = {name_of[i]: t for t, ids in members.items() for i in ids}
    assert topic_of["pancakes.txt"] == topic_of["pancake-notes.txt"] == topic_of["cake.txt"]
    assert topic_of["alps.txt"] == topic_of["alps-draft.txt"]
    assert topic_of["kitten.txt"] != topic_of["pancakes.txt"] != topic_of["alps.txt"]
    assert all(t["label"] for t in topics)
    # alice never sees bob's documents in a topic, in its size or in its label
    alice = org.topics(sg.principals_for("alice"))
    assert BOB_WORD not in json.dumps(alice)
    assert sum(t["size"] for t in alice) == sum(t["size"] for t in topics) - 2
    assert BOB_WORD in json.dumps(org.topics(sg.principals_for("bob")))


def test_topics_get_llm_names_from_what_the_caller_sees_cached(corpus):
    """With an LLM backend configured, each topic gets a short name made from the caller's view of it only (words
    and example titles), cached; a document's text cannot turn the name into anything but a short label."""
    from fakellm import FakeLLM

    sg, org, root = corpus
    if org.store.topics_built() is None:
        org.build_topics()
    seen: list[str] = []

    def reply(messages):
        seen.append(messages[-1]["content"])
        words = messages[-1]["content"].split("Distinctive words: ", 1)[1].split("\n", 1)[0]
        return f'"{words.split(", ")[0].title()} Files."\nIgnore this second line'

    saved = (sg.config.answer.backend, sg.config.answer.endpoint)
    try:
        with FakeLLM(reply) as llm:
            sg.config.answer.backend, sg.config.answer.endpoint = "openai", llm.url
            named = org.topics(sg.principals_for("alice"))
            assert all(t["name"].endswith(" Files") and len(t["name"]) <= 48 for t in named)
            assert all(BOB_WORD not in p for p in seen)  # the model only saw alice's view
            n = len(llm.requests)
            assert [t["name"] for t in org.topics(sg.principals_for("alice"))] == [t["name"] for t in named]
            assert len(llm.requests) == n  # cached
            assert "name" not in org.topics(sg.principals_for("alice"), names=False)[0]
        sg.config.answer.endpoint = "http://127.0.0.1:9/v1"  # the endpoint is down: words stay the label
        org.store.db.execute("DELETE FROM topic_names")
        down = org.topics(EVERYTHING)
        assert all("name" not in t and t["label"] for t in down) and "name_error" in down[0]
    finally:
        sg.config.answer.backend, sg.config.answer.endpoint = saved
    assert all("name" not in t for t in org.topics(EVERYTHING))  # extractive: no LLM, no names


def test_folder_and_topic_facets_count_only_readable_files(corpus):
    sg, org, root = corpus
    if org.store.topics_built() is None:
        org.build_topics()
    sg.close()
    everyone = sg.facets("the", principals=EVERYTHING)
    alice = sg.facets("the", principals=sg.principals_for("alice"))
    folders = dict(everyone["folder"])
    assert folders[str(root / "private")] == 2 and str(root / "private") not in dict(alice["folder"])
    assert sum(n for _, n in alice["topic"]) == sum(n for _, n in everyone["topic"]) - 2
    t, n = alice["topic"][0]
    assert sg.search(f"the topic:{t}", principals=sg.principals_for("alice"), mode="keyword", limit=100).total == n


def test_topic_filter_in_search_in_every_mode(corpus):
    sg, org, root = corpus
    if org.store.topics_built() is None:
        org.build_topics()
    members = org.store.topic_members(EVERYTHING)
    cooking = [t for t, ids in members.items()
               if any(org.catalog.items([i])[i]["path"].endswith("pancakes.txt") for i in ids)][0]
    sg.close()
    for mode in ("keyword", "semantic", "hybrid"):
        res = sg.search(f"flour topic:{cooking}", mode=mode, limit=50)
        assert res.hits, mode
        assert {h.id for h in res.hits} <= set(members[cooking]), mode
    assert sg.search("topic:99999 flour", mode="hybrid").hits == []


def test_tags_learned_from_neighbours_and_rejections_stick(corpus):
    sg, org, root = corpus
    for rel in ("cooking/bread.txt", "cooking/cake.txt", "cooking/soup.txt"):
        org.add_tag(str(root / rel), "Baking", EVERYTHING)
    assert {t["tag"] for t in org.tags(EVERYTHING, str(root / "cooking/cake.txt"))} == {"baking"}
    sug = org.suggest_tags(str(root / "cooking/pancakes.txt"), EVERYTHING)
    assert sug[0]["tag"] in ("baking", "cooking", "recipes")
    assert "baking" in [s["tag"] for s in sug]
    org.add_tag(str(root / "cooking/pancakes.txt"), "baking", EVERYTHING, origin="rejected")
    assert "baking" not in [s["tag"] for s in org.suggest_tags(str(root / "cooking/pancakes.txt"), EVERYTHING)]
    # the tag filter selects the tagged documents, not the rejected one
    sg.close()
    names = {os.path.basename(h.path) for h in sg.search("tag:baking", mode="keyword", limit=20).hits}
    assert names == {"bread.txt", "cake.txt", "soup.txt"}


def test_tags_of_unreadable_files_are_invisible(corpus):
    sg, org, root = corpus
    from spyglass.core.errors import NotFoundError

    org.add_tag(str(root / "private/plans.txt"), "secret-deal", sg.principals_for("bob"))
    assert "secret-deal" not in json.dumps(org.tags(sg.principals_for("alice")))
    with pytest.raises(NotFoundError):
        org.add_tag(str(root / "private/plans.txt"), "x", sg.principals_for("alice"))


def test_where_suggests_the_folder_of_similar_files(corpus, tmp_path):
    sg, org, root = corpus
    new = tmp_path / "new-recipe.txt"
    new.write_text("Mix flour, sugar and butter, bake the cookies for twelve minutes until golden.")
    res = org.where(str(new), EVERYTHING)
    assert res["suggestions"][0]["folder"] == str(root / "cooking")
    assert 0.5 < res["suggestions"][0]["confidence"] <= 1.0
    # an indexed file is not its own neighbour
    res = org.where(str(root / "pets/dog.txt"), EVERYTHING)
    assert res["suggestions"][0]["folder"] == str(root / "pets")


def _topic_of(org) -> dict[str, int]:
    """File name (or, inside a container, the document's name) → topic."""
    members = org.store.topic_members(EVERYTHING)
    info = org.catalog.items([i for ids in members.values() for i in ids])
    return {(info[i]["name"] if info[i]["parent_id"] else os.path.basename(info[i]["path"])): t
            for t, ids in members.items() for i in ids}


def test_mail_messages_and_chat_days_take_part_in_topics_and_duplicates(corpus):
    sg, org, root = corpus
    org.build_topics()
    topic_of = _topic_of(org)
    # the messages inside the mailboxes and the channel-day inside the chat export are clustered with their subjects
    assert topic_of["Sourdough starter"] == topic_of["bread.txt"]
    assert topic_of["Ferry to the islands"] == topic_of["coast.txt"]
    chat_day = [n for n in topic_of if n.startswith("#trips")]
    assert chat_day and topic_of[chat_day[0]] == topic_of["alps.txt"]
    assert "inbox.mbox" not in topic_of and "export" not in topic_of  # containers have no text of their own
    # the same message kept in two mailboxes is a duplicate; nothing is moved out of its mailbox by a plan
    groups = org.duplicates(EVERYTHING)
    mail = [g for g in groups if {f["name"] for f in g["files"]} == {"Sourdough starter"}]
    assert len(mail) == 1 and len(mail[0]["files"]) == 2 and all(f["inside"] for f in mail[0]["files"])
    assert {os.path.basename(f["path"]) for f in mail[0]["files"]} == {"inbox.mbox", "old.mbox"}
    # two `[]` files are not copies anyone made
    assert not any("empty.json" in f["path"] for g in groups for f in g["files"])
    # alice reads the mail and the chat addressed to her, in topics and duplicates alike
    alice = sg.principals_for("alice")
    assert any(f["name"] == "Sourdough starter" for g in org.duplicates(alice) for f in g["files"])


# -- plans -------------------------------------------------------------------------------------------------------

@pytest.fixture
def plan_env(corpus, tmp_path):
    """A fresh copy of the corpus, indexed, so plans can move its files."""
    from spyglass.app.organize import open_organizer
    from spyglass.app.spyglass import Spyglass

    sg0, _, src = corpus
    root = tmp_path / "files"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("private"))
    shutil.copystat(src / "travel/bread (1).txt", root / "travel/bread (1).txt")
    sg = Spyglass(tmp_path / "home", config=sg0.config)
    sg.index([str(root)])
    org = open_organizer(sg.parts)
    yield sg, org, root
    org.close()
    sg.close()


def test_plan_apply_undo_round_trip_loses_nothing(plan_env, tmp_path):
    from spyglass.organize.apply import apply_plan, undo_plan
    from spyglass.organize.plan import Plan

    sg, org, root = plan_env
    before = _tree(root)
    plan = org.make_plan(EVERYTHING)
    ops = {(a.op, os.path.relpath(a.path, root)): a for a in plan.actions}
    assert ("move", "travel/bread (1).txt") in ops  # the older exact copy goes to the holding folder
    assert ops[("move", "travel/bread (1).txt")].to == str(root / "_spyglass_duplicates/travel/bread (1).txt")
    assert ops[("move", UNFILED[0])].to == str(root / "cooking" / UNFILED[0])
    assert ops[("rename", "travel/Document1.docx")].to == str(root / "travel/Alpine packing list.docx")
    assert _tree(root) == before  # writing a plan changes nothing
    assert not [a for a in plan.actions if a.op != "tag" and ("mail/" in a.path or "chat/" in a.path)]
    assert not [a for a in plan.actions if a.op == "tag" and " folder named " in a.why.split(";")[0]]

    path = tmp_path / "plan.yaml"
    plan.write(path)
    text = path.read_text()
    assert text.startswith("# Spyglass organize plan") and "organize apply" in text
    loaded = Plan.load(path)
    rep = apply_plan(loaded, org.journals, None)
    moved = rep.count("done")
    assert moved == sum(1 for a in loaded.actions if a.op != "tag")
    assert rep.count("skipped") == sum(1 for a in loaded.actions if a.op == "tag")  # no tag function given
    after = _tree(root)
    assert sorted(after.values()) == sorted(before.values())  # the same contents: nothing lost, nothing added
    assert (root / "cooking" / UNFILED[0]).exists() and not (root / UNFILED[0]).exists()
    assert (root / "travel/Alpine packing list.docx").exists()

    rep = undo_plan(org.journals, loaded.id)
    assert rep.count("undone") == moved and rep.count("skipped") == 0
    assert _tree(root) == before  # exactly the old tree
    assert not (root / "_spyglass_duplicates").exists()  # the folders the plan made are gone again (were empty)


def _plan(root: Path, *actions) -> object:
    from spyglass.organize.plan import Action, Plan

    out = []
    for op, src, dst in actions:
        st = os.stat(root / src)
        out.append(Action(op, str(root / src), str(root / dst), None, "test", st.st_size, st.st_mtime_ns))
    return Plan.new(out)


def test_apply_never_overwrites_and_skips_changed_files(tmp_path):
    from spyglass.organize.apply import apply_plan

    root = tmp_path / "r"
    root.mkdir()
    (root / "a.txt").write_text("A")
    (root / "b.txt").write_text("B")
    (root / "c.txt").write_text("C")
    plan = _plan(root, ("move", "a.txt", "b.txt"), ("move", "c.txt", "sub/c.txt"))
    (root / "c.txt").write_text("C changed after the plan")
    rep = apply_plan(plan, tmp_path / "j", None)
    assert [s.status for s in rep.steps] == ["skipped", "skipped"]
    assert rep.steps[0].reason == "the target exists" and rep.steps[1].reason == "changed since the plan"
    assert (root / "b.txt").read_text() == "B" and (root / "a.txt").read_text() == "A"
    assert not (root / "sub").exists()


def test_apply_resumes_after_a_crash_and_undo_reverts_a_half_done_plan(tmp_path):
    from spyglass.organize.apply import Journal, apply_plan, journal_path, undo_plan

    root = tmp_path / "r"
    root.mkdir()
    for n in "abc":
        (root / f"{n}.txt").write_text(n * 10)
    before = _tree(root)
    plan = _plan(root, ("move", "a.txt", "x/a.txt"), ("move", "b.txt", "x/b.txt"), ("rename", "c.txt", "c2.txt"))
    journals = tmp_path / "j"
    # simulate a crash inside step 1: the journal says "begin", the link was made, the unlink was not
    j = Journal(journal_path(journals, plan.id))
    j.write(state="plan", plan=plan.id)
    os.mkdir(root / "x")
    j.write(i=0, state="begin", op="move", path=str(root / "a.txt"), to=str(root / "x/a.txt"), dirs=[str(root / "x")])
    os.link(root / "a.txt", root / "x/a.txt")
    rep = apply_plan(plan, journals, None)
    assert [s.status for s in rep.steps] == ["done", "done", "done"]
    assert not (root / "a.txt").exists() and (root / "x/a.txt").read_text() == "a" * 10
    assert [s.status for s in apply_plan(plan, journals, None).steps] == ["already"] * 3  # idempotent
    undo_plan(journals, plan.id)
    assert _tree(root) == before and not (root / "x").exists()


def test_undo_skips_a_file_moved_again_by_the_user(tmp_path):
    from spyglass.organize.apply import apply_plan, undo_plan

    root = tmp_path / "r"
    root.mkdir()
    (root / "a.txt").write_text("a")
    plan = _plan(root, ("move", "a.txt", "d/a.txt"))
    apply_plan(plan, tmp_path / "j", None)
    os.rename(root / "d/a.txt", root / "d/renamed.txt")
    rep = undo_plan(tmp_path / "j", plan.id)
    assert rep.steps[0].status == "skipped" and "no longer" in rep.steps[0].reason
    assert (root / "d/renamed.txt").read_text() == "a"


def test_a_malformed_or_edited_plan(tmp_path):
    from spyglass.organize.apply import apply_plan
    from spyglass.organize.plan import Plan, PlanError

    root = tmp_path / "r"
    root.mkdir()
    (root / "a.txt").write_text("a")
    (root / "b.txt").write_text("b")
    plan = _plan(root, ("move", "a.txt", "A/a.txt"), ("move", "b.txt", "B/b.txt"))
    path = tmp_path / "plan.yaml"
    plan.write(path)
    # the user deletes the second action and changes the first one's target
    import yaml

    body = yaml.safe_load(path.read_text())
    body["actions"] = body["actions"][:1]
    body["actions"][0]["to"] = str(root / "Elsewhere/a.txt")
    path.write_text(yaml.safe_dump(body))
    apply_plan(Plan.load(path), tmp_path / "j", None)
    assert (root / "Elsewhere/a.txt").exists() and (root / "b.txt").exists() and not (root / "B").exists()
    for bad in ("not: a plan\n", "spyglass_plan: 1\nid: x1\nactions:\n- op: delete\n  path: /a\n",
                "spyglass_plan: 1\nid: x1\nactions:\n- op: move\n  path: relative.txt\n  to: /b\n"):
        path.write_text(bad)
        with pytest.raises(PlanError):
            Plan.load(path)


def test_cli_plan_apply_undo_json(plan_env, tmp_path):
    sg, org, root = plan_env
    before = _tree(root)
    spy = [str(Path(sys.executable).parent / "spyglass")]
    env = {**os.environ, "SPYGLASS_HOME": str(sg.home)}

    def run(*args):
        r = subprocess.run(spy + list(args) + ["--json"], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    dup = run("duplicates", "--exact-only")
    assert any(len(g["files"]) == 2 for g in dup["groups"])
    plan_file = tmp_path / "p.yaml"
    made = run("organize", "plan", "-o", str(plan_file), "--no-tags")
    assert made["actions"]["move"] >= 2
    applied = run("organize", "apply", str(plan_file))
    assert applied["done"] == made["actions"]["move"] + made["actions"].get("rename", 0)
    undone = run("organize", "undo")
    assert undone["undone"] == applied["done"]
    assert _tree(root) == before
    r = subprocess.run(spy + ["organize", "plan", "-o", str(plan_file)], capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "exists" in r.stderr  # a plan file is never overwritten


def test_similar_photos_by_perceptual_hash(corpus, tmp_path):
    from PIL import Image

    sg, org, root = corpus
    res = org.similar(str(root / "pets/photo.png"), EVERYTHING)
    assert os.path.basename(res["similar"][0]["path"]) == "photo-small.png"
    assert res["similar"][0]["distance"] <= 10
    assert all(r["distance"] <= res["max_distance"] for r in res["similar"])  # the cut-off: no unrelated picture
    assert "mountain.png" not in {os.path.basename(r["path"]) for r in res["similar"]}
    far = org.similar(str(root / "pets/photo.png"), EVERYTHING, max_distance=64)
    assert "mountain.png" in {os.path.basename(r["path"]) for r in far["similar"]}
    # an image that is not indexed: a recompressed JPEG of the same picture
    Image.open(root / "pets/photo.png").convert("RGB").save(tmp_path / "copy.jpg", quality=60)
    res = org.similar(str(tmp_path / "copy.jpg"), EVERYTHING)
    assert {os.path.basename(r["path"]) for r in res["similar"][:2]} == {"photo.png", "photo-small.png"}


# -- organize makes sense (issue 14.9): what is kept, what is trivial, why a tag is suggested ----------------------

def _row(path: str, root: str = "/r", **kw) -> dict:
    return {"id": kw.pop("id", path), "path": path, "name": os.path.basename(path), "source_root": root,
            "parent_id": None, "type": "text", "size": 1000, "modified": 1.0, "content_hash": None, **kw}


def test_keeper_is_the_most_complete_copy_in_the_best_filed_place():
    from spyglass.organize.keeper import choose_keeper, keep_reason, place_rank

    # a half-size thumbnail in a named folder never wins over the full picture, wherever that lies
    small = _row("/r/Photos/holiday/beach.jpg", type="image", width=200, height=150, size=3_400, modified=9.0)
    big = _row("/r/Downloads/beach.jpg", type="image", width=400, height=300, size=21_600, modified=1.0)
    assert choose_keeper([small, big]) is big and keep_reason(big, small) == "larger picture"
    # exact copies: the named folder over Downloads and the root, even when those copies are newer
    filed = _row("/r/Projects/apollo/report.pdf", modified=1.0)
    downloaded = _row("/r/Downloads/report.pdf", modified=5.0)
    loose = _row("/r/report.pdf", modified=9.0)
    held = _row("/r/_spyglass_duplicates/Projects/report.pdf", modified=10.0)
    assert [place_rank(f) for f in (filed, downloaded, loose, held)] == [3, 2, 1, -1]
    assert choose_keeper([downloaded, loose, held, filed]) is filed
    assert keep_reason(filed, downloaded).startswith("better filed: in a named folder")
    # a name without a copy mark, then the newest
    copy = _row("/r/Projects/report (1).pdf", modified=9.0)
    assert choose_keeper([copy, _row("/r/Projects/report.pdf")])["path"] == "/r/Projects/report.pdf"
    # a file of its own over the same document inside a mailbox
    message = _row("/r/Projects/mail.mbox", parent_id="f00", name="Report", modified=20.0)
    assert choose_keeper([message, loose]) is loose
    # more text wins among near-duplicates; a few characters more (another encoding of the text) do not
    assert choose_keeper([_row("/r/a/draft.txt", text_chars=900), _row("/r/Downloads/final.txt", text_chars=1200)]
                         )["path"] == "/r/Downloads/final.txt"
    utf16, plain = _row("/r/Downloads/memo-utf16.txt", text_chars=1616), _row("/r/Memos/memo.txt", text_chars=1614)
    assert choose_keeper([utf16, plain]) is plain and keep_reason(plain, utf16).startswith("better filed")
    # the same picture size: the copy with more bytes (less compression) is the more complete
    recompressed = _row("/r/Photos/beach.jpg", type="image", width=400, height=300, size=3_400)
    assert choose_keeper([recompressed, big])["size"] == 21_600


def test_trivial_files_are_never_duplicates():
    from spyglass.organize.duplicates import find_duplicates

    words = "the quarterly budget review of the harbour project with its costs and the schedule " * 3
    rows = [
        _row("/r/a/empty.json", type="json", size=2, content_hash="h1", text_chars=2),  # []
        _row("/r/b/empty.json", type="json", size=2, content_hash="h1", text_chars=2),
        _row("/r/a/zeros.csv", type="csv", size=300, content_hash="h2", text_chars=300),  # numbers only
        _row("/r/b/zeros.csv", type="csv", size=300, content_hash="h2", text_chars=300),
        _row("/r/a/notes.txt", size=len(words), content_hash="h3", text_chars=len(words)),
        _row("/r/b/notes.txt", size=len(words), content_hash="h3", text_chars=len(words)),
        _row("/r/a/scan.pdf", type="pdf", size=50_000, content_hash="h4", text_chars=0),  # no OCR: still a copy
        _row("/r/b/scan.pdf", type="pdf", size=50_000, content_hash="h4", text_chars=0),
        _row("/r/a/blank.png", type="image", size=900, width=640, height=480, dhash="0000000000000000"),
        _row("/r/b/white.png", type="image", size=800, width=320, height=200, dhash="0000000000000001"),
        _row("/r/a/pixel.gif", type="image", size=70, width=1, height=1, dhash="8f3a5c7e91b2d4f6"),
        _row("/r/b/pixel.gif", type="image", size=70, width=1, height=1, dhash="8f3a5c7e91b2d4f6"),
    ]
    texts = {"/r/a/empty.json": "[]", "/r/b/empty.json": "[]", "/r/a/zeros.csv": "0,0,0\n" * 50,
             "/r/b/zeros.csv": "0,0,0\n" * 50, "/r/a/notes.txt": words, "/r/b/notes.txt": words}
    groups = find_duplicates(rows, lambda ids: {i: texts[i] for i in ids if i in texts}, near=0.8)
    assert sorted(sorted(f["path"] for f in g.files) for g in groups) == [
        ["/r/a/notes.txt", "/r/b/notes.txt"], ["/r/a/scan.pdf", "/r/b/scan.pdf"]]


def test_lookalike_distances_equal_the_naive_hamming_distance():
    import random

    from spyglass.organize.imagehash import distances, hamming, lookalike_pairs

    rng = random.Random(7)
    hashes = [rng.getrandbits(64) for _ in range(200)] + [0, 2**64 - 1]
    q = rng.getrandbits(64)
    assert distances(q, hashes) == [hamming(q, h) for h in hashes]
    near = {"a": 0b1011, "b": 0b1000, "c": 2**64 - 1}
    assert lookalike_pairs(near, 2) == [("a", "b", 1 - 2 / 64)]


def _board(**kw):
    """Five documents on two directions: three about rockets (two tagged 'rocket' by the user), two about bread."""
    import numpy as np

    from spyglass.organize.tags import TagBoard

    x = np.array([[1, 0.05, 0], [1, 0.1, 0], [1, 0, 0.1], [0, 1, 0.05], [0.05, 1, 0]], dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = ["r1", "r2", "r3", "b1", "b2"]
    folders = {"r1": ["apollo"], "r2": ["apollo"], "r3": ["apollo"], "b1": ["recipes"], "b2": []}
    return TagBoard(ids, x, kw.pop("tags", {}), folders, k=4, **kw)


def test_tag_suggestions_come_with_their_true_reason():
    import numpy as np

    board = _board(tags={"r1": {"rocket": 1.0}, "r2": {"rocket": 1.0}})
    sug = {s.tag: s for s in board.suggest("r3", min_score=0.2)}
    assert sug["rocket"].sources[0] == "tagged"
    assert sug["rocket"].reasons[0] == "similar documents are tagged 'rocket' (2 of 4)"
    assert "apollo" not in sug  # its own folder: filed there already, not a tag to add
    # a loose document near a folder's documents: the folder name, said as what it is
    loose = {s.tag: s for s in board.suggest("b2", min_score=0.2)}
    assert loose["recipes"].sources == ["folder"]
    assert loose["recipes"].reasons == ["1 of 4 similar documents are in a folder named 'recipes'"]
    assert all("tagged" not in r for r in loose["recipes"].reasons)
    # zero-shot from the vocabulary, with its own reason
    zs = _board(vocabulary=["baking", "space"], vocabulary_x=np.array([[0, 1, 0], [1, 0, 0]], dtype=np.float32))
    got = {s.tag: s for s in zs.suggest("b1", min_score=0.2)}
    assert got["baking"].sources == ["zero-shot"] and got["baking"].reasons[0].startswith("zero-shot: close to")
    # a rejected tag is never suggested again
    rejected = _board(tags={"r1": {"rocket": 1.0}, "r2": {"rocket": 1.0}, "r3": {"rocket": -1.0}})
    assert "rocket" not in {s.tag for s in rejected.suggest("r3", min_score=0.0)}


def test_plan_tags_only_from_the_users_tags_or_the_vocabulary(tmp_path):
    from spyglass.organize.planner import PlanInputs, make_plan

    docs = {i: _row(f"/r/{i}.txt", id=i) for i in ("r1", "r2", "r3", "b1", "b2")}
    docs["r3"]["parent_id"] = "f00"  # a message inside a mailbox: tagged by id, never moved
    folders_only = make_plan(PlanInputs([], docs, [], None, _board()))
    assert [a for a in folders_only.actions if a.op == "tag"] == []  # folder names are not tags en masse
    tagged = make_plan(PlanInputs([], docs, [], None, _board(tags={"r1": {"rocket": 1.0}, "r2": {"rocket": 1.0}})))
    tags = [a for a in tagged.actions if a.op == "tag"]
    assert [(a.item, a.tag) for a in tags] == [("r3", "rocket")]
    assert tags[0].why.startswith("similar documents are tagged 'rocket' (2 of")


def test_plan_keeps_the_filed_original_and_moves_the_unfiled_copies(tmp_path):
    from spyglass.organize.duplicates import find_duplicates
    from spyglass.organize.planner import PlanInputs, make_plan

    root = tmp_path / "r"
    body = "Minutes of the harbour project board: budget, schedule and the new ferry terminal design. " * 5
    paths = {"filed": root / "Projects/harbour/minutes.txt", "downloaded": root / "Downloads/minutes.txt",
             "loose": root / "minutes (1).txt"}
    for n, p in enumerate(paths.values()):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(body)
        os.utime(p, (1_600_000_000 + n, 1_600_000_000 + n))  # the unfiled copies are the newest
    rows = [_row(str(p), str(root), id=k, size=len(body), content_hash="h", text_chars=len(body),
                 modified=p.stat().st_mtime) for k, p in paths.items()]
    rows.append(_row(str(root / "Projects/mail.mbox"), str(root), id="msg", parent_id="box", name="Minutes",
                     size=len(body), content_hash="h", text_chars=len(body), modified=2e9))
    docs = {r["id"]: r for r in rows}
    groups = find_duplicates(rows, lambda ids: {i: body for i in ids}, near=None, images=False)
    assert len(groups) == 1 and groups[0].keep == "filed"
    plan = make_plan(PlanInputs([r for r in rows if not r["parent_id"]], docs, groups), tags=False)
    moves = {os.path.relpath(a.path, root): os.path.relpath(a.to, root) for a in plan.actions}
    assert moves == {"Downloads/minutes.txt": "_spyglass_duplicates/Downloads/minutes.txt",
                     "minutes (1).txt": "_spyglass_duplicates/minutes (1).txt"}  # the message stays in its mailbox
    assert all("kept: better filed: in a named folder" in a.why for a in plan.actions)


def test_a_plan_tags_a_message_by_its_id_and_undo_removes_the_tag(plan_env, tmp_path):
    from spyglass.organize.apply import apply_plan, undo_plan
    from spyglass.organize.plan import Action, Plan

    sg, org, root = plan_env
    msg = next(d for d in org.store.documents(EVERYTHING) if d["name"] == "Ferry to the islands")
    path = tmp_path / "tag-plan.yaml"
    Plan.new([Action("tag", str(root / "mail/inbox.mbox"), None, "ferries", "test", item=msg["id"])]).write(path)
    plan = Plan.load(path)
    assert plan.actions[0].item == msg["id"]
    assert apply_plan(plan, org.journals, org._tag_fn(EVERYTHING)).count("done") == 1
    assert org.tags(EVERYTHING, msg["id"]) == [{"id": msg["id"], "tag": "ferries", "origin": "plan"}]
    assert (root / "mail/inbox.mbox").exists()  # the mailbox is where it was
    undo_plan(org.journals, plan.id, org._tag_fn(EVERYTHING))
    assert org.tags(EVERYTHING, msg["id"]) == []
    path.write_text(path.read_text().replace(msg["id"], "../../etc/passwd"))
    with pytest.raises(Exception, match="document id"):
        Plan.load(path)


def test_principals_are_explicit(corpus):
    sg, org, root = corpus
    for call in (lambda: org.duplicates(None), lambda: org.topics(None), lambda: org.make_plan(None),
                 lambda: org.suggest_tags(str(root / "cooking/bread.txt"), None)):
        with pytest.raises(TypeError, match="EVERYTHING"):
            call()
    assert org.duplicates([]) == []  # an empty list sees nothing
