"""Organization: duplicates, topics, tags, folder suggestions, and plans applied with an undo journal.

A real corpus indexed with the packaged embedder; the plan tests move real files and check, byte for byte, that
nothing was lost, overwritten or deleted, and that undo restores the tree exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spyglass.core.acl import EVERYTHING

from fixtures import write_docx

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
    # bob's private files: a document and an exact copy, readable only by uid 50001
    for rel in ("private/plans.txt", "private/plans-copy.txt"):
        (root / rel).parent.mkdir(exist_ok=True)
        (root / rel).write_text(f"The {BOB_WORD} merger: confidential plans for acquiring the bakery chain, "
                                f"{BOB_WORD} {BOB_WORD} board notes and the offer price.")
        os.chown(root / rel, 50001, 50001)
        (root / rel).chmod(0o600)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from spyglass.app.organize import Organizer
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import Config, UserSettings

    root = tmp_path_factory.mktemp("org") / "files"
    root.mkdir()
    _make_corpus(root)
    home = tmp_path_factory.mktemp("home")
    cfg = Config()
    cfg.users = {"bob": UserSettings(principals=["user:50001"]), "alice": UserSettings()}
    cfg.organize.tag_vocabulary = ["recipes", "travel", "animals"]
    sg = Spyglass(home, config=cfg)
    sg.index([str(root)])
    org = Organizer(sg)
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


# -- plans -------------------------------------------------------------------------------------------------------

@pytest.fixture
def plan_env(corpus, tmp_path):
    """A fresh copy of the corpus, indexed, so plans can move its files."""
    from spyglass.app.organize import Organizer
    from spyglass.app.spyglass import Spyglass

    sg0, _, src = corpus
    root = tmp_path / "files"
    shutil.copytree(src, root, ignore=shutil.ignore_patterns("private"))
    shutil.copystat(src / "travel/bread (1).txt", root / "travel/bread (1).txt")
    sg = Spyglass(tmp_path / "home", config=sg0.config)
    sg.index([str(root)])
    org = Organizer(sg)
    yield sg, org, root
    org.close()
    sg.close()


def test_plan_apply_undo_round_trip_loses_nothing(plan_env, tmp_path):
    from spyglass.app.organize import make_plan
    from spyglass.organize.apply import apply_plan, undo_plan
    from spyglass.organize.plan import Plan

    sg, org, root = plan_env
    before = _tree(root)
    plan = make_plan(org, EVERYTHING)
    ops = {(a.op, os.path.relpath(a.path, root)): a for a in plan.actions}
    assert ("move", "travel/bread (1).txt") in ops  # the older exact copy goes to the holding folder
    assert ops[("move", "travel/bread (1).txt")].to == str(root / "_spyglass_duplicates/travel/bread (1).txt")
    assert ops[("move", UNFILED[0])].to == str(root / "cooking" / UNFILED[0])
    assert ops[("rename", "travel/Document1.docx")].to == str(root / "travel/Alpine packing list.docx")
    assert _tree(root) == before  # writing a plan changes nothing

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
    assert res["similar"][0]["distance"] <= 10 < res["similar"][-1]["distance"]
    # an image that is not indexed: a recompressed JPEG of the same picture
    Image.open(root / "pets/photo.png").convert("RGB").save(tmp_path / "copy.jpg", quality=60)
    res = org.similar(str(tmp_path / "copy.jpg"), EVERYTHING)
    assert {os.path.basename(r["path"]) for r in res["similar"][:2]} == {"photo.png", "photo-small.png"}
