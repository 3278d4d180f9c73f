"""Organization composed from the index: duplicates, topics, tags, folder suggestions and plans.

Every read takes the caller's principals (None: the local owner, who reads everything) and passes them into the
catalog queries. Topic *assignments* are computed over the whole collection, but a topic's size, label and examples
are computed per request from the documents the caller may read, so no one learns a word from a file they cannot open.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spyglass.core.acl import EVERYTHING, Principals
from spyglass.core.errors import NotFoundError, SpyglassError
from spyglass.core.terms import STOP

if TYPE_CHECKING:
    from spyglass.app.spyglass import Spyglass

_WORD = re.compile(r"[^\W\d_][^\W_]{2,}", re.UNICODE)
GENERIC_NAME = re.compile(r"^(document|doc|untitled|new( document)?|scan|img|image|file|copy( of)?)[ _-]*\(?\d*\)?$",
                          re.IGNORECASE)


def label_terms(text: str, top: int = 30) -> dict[str, int]:
    """A document's most frequent content words (lower-cased, unstemmed: they are shown as labels)."""
    c = Counter(w for w in (m.group(0).lower() for m in _WORD.finditer(text[:100_000])) if w not in STOP)
    return dict(c.most_common(top))


class Organizer:
    def __init__(self, sg: Spyglass) -> None:
        from spyglass.index.catalog import Catalog
        from spyglass.index.organize_store import OrganizeStore

        self.sg = sg
        if not (sg.home / "catalog.sqlite3").exists():
            raise SpyglassError(f"no index at {sg.home}: run `spyglass index FOLDER` first")
        self.catalog = Catalog(sg.home / "catalog.sqlite3")  # creates the organize tables of an older catalog
        self.store = OrganizeStore(self.catalog)
        self.journals = sg.home / "organize" / "journals"

    def close(self) -> None:
        self.catalog.close()

    # -- vectors ------------------------------------------------------------------------------------------------
    def doc_vectors(self, ids: list[str], required: bool = False) -> tuple[list[str], Any]:
        """Unit document vectors (the mean of each document's passage vectors) for the ids that have them."""
        import numpy as np

        dense = self.sg.parts.dense(required=required)
        if dense is None:  # no embeddings (yet, or turned off): suggestions that need them are empty
            return [], np.zeros((0, 1), dtype=np.float32)
        rows: dict[str, list[int]] = {}
        for k in range(0, len(ids), 500):
            part = ids[k : k + 500]
            q = ",".join("?" * len(part))
            for iid, key in self.catalog.db.execute(
                    f"SELECT item_id, vkey FROM embeddings WHERE item_id IN ({q}) ORDER BY item_id, ord", part):
                rows.setdefault(iid, []).append(key)
        have = [i for i in ids if i in rows]
        if not have:
            return [], np.zeros((0, dense.vectors.dim), dtype=np.float32)
        allv = dense.vectors.get([k for i in have for k in rows[i]])
        out = np.zeros((len(have), allv.shape[1]), dtype=np.float32)
        pos = 0
        for n, i in enumerate(have):
            m = len(rows[i])
            out[n] = allv[pos : pos + m].mean(axis=0)
            pos += m
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return have, out

    def embed_text(self, text: str) -> Any:
        import numpy as np

        v = np.asarray(self.sg.embedder().embed([text[:4000]])[0], dtype=np.float32)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    # -- duplicates ---------------------------------------------------------------------------------------------
    def duplicates(self, principals: Principals = EVERYTHING, near: float | None = 0.8,
                   images: bool = True) -> list[dict[str, Any]]:
        from spyglass.organize.duplicates import find_duplicates

        files = self.store.files(principals)
        texts = self.store.texts([f["id"] for f in files if f["type"] != "image"]) if near is not None else None
        return [g.to_dict() for g in find_duplicates(files, texts, near, images)]

    def similar(self, ref: str, principals: Principals = EVERYTHING, limit: int = 10,
                by: str = "hash") -> dict[str, Any]:
        """Look-alike images among the caller's readable images; ``ref`` is an indexed image (path or id) or any image
        file. ``by="hash"``: perceptual hash, no model (copies, resizes, light edits); ``by="content"``: the
        text–image model's image vectors (the same scene or subject), when one is configured."""
        from spyglass.organize.imagehash import hamming

        if by == "content":
            return self._similar_content(ref, principals, limit)
        if by != "hash":
            raise SpyglassError(f"similar by {by!r}: use hash or content")

        try:
            it = self.resolve(ref, principals)
            row = self.catalog.db.execute("SELECT json_extract(meta, '$.dhash') FROM items WHERE id = ?",
                                          (it["id"],)).fetchone()
            h, own = (int(row[0], 16) if row and row[0] else None), it["id"]
        except NotFoundError:
            h, own = None, None
        if h is None:
            h = _file_dhash(ref)
        ranked = sorted(((hamming(h, int(f["dhash"], 16)), f) for f in self.store.files(principals)
                         if f.get("dhash") and f["id"] != own), key=lambda x: (x[0], x[1]["path"]))[:limit]
        return {"query": ref, "similar": [{"id": f["id"], "path": f["path"], "distance": d,
                                           "similarity": round(1 - d / 64, 4)} for d, f in ranked]}

    def _similar_content(self, ref: str, principals: Principals, limit: int) -> dict[str, Any]:
        from spyglass.retrieval.query import Filters

        images = self.sg.parts.images()
        if images is None:
            raise SpyglassError("similar by content needs a text-image model ([media] clip_image_model and "
                                "clip_text_model, docs/media.md) and a `spyglass index` run to embed the images")
        try:
            own = self.resolve(ref, principals)["id"]
            vec = images.vector_of(own)
        except NotFoundError:
            own, vec = None, None
        if vec is None:
            from spyglass.extraction.image import open_image

            try:
                vec = images.clip.embed_images([open_image(ref)])[0]
            except (OSError, ValueError) as exc:
                raise NotFoundError(f"{ref} is neither an indexed image you can read nor an image file") from exc
        run = images.search_vector(vec, limit + 1, Filters(), principals)
        ranked = [(d, s) for d, s in sorted(run.items(), key=lambda kv: -kv[1]) if d != own][:limit]
        info = self.catalog.items([d for d, _ in ranked])
        return {"query": ref, "by": "content", "similar": [
            {"id": d, "path": info[d]["path"], "similarity": round(float(s), 4)} for d, s in ranked if d in info]}

    # -- topics -------------------------------------------------------------------------------------------------
    def build_topics(self, k: int | None = None) -> dict[str, Any]:
        """Cluster every embedded document (all users'; labels are per caller at read time)."""
        from spyglass.organize.clustering import choose_topics

        files = self.store.files(EVERYTHING)
        ids, x = self.doc_vectors([f["id"] for f in files], required=True)
        if len(ids) < 2:
            raise SpyglassError("topics need at least two documents with embeddings: run `spyglass index` first")
        labels, centroids, report = choose_topics(x, k)
        sims = (x * centroids[labels]).sum(axis=1)
        texts = self.store.texts(ids)
        self.store.replace_topics({i: (int(t), float(s)) for i, t, s in zip(ids, labels, sims)},
                                  {i: label_terms(texts.get(i, "")) for i in ids})
        return {"documents": len(ids), **report}

    def topics(self, principals: Principals = EVERYTHING, terms: int = 5, examples: int = 3,
               names: bool | None = None) -> list[dict]:
        """Topics as the caller sees them: sizes, distinctive words and examples over what they may read, and a
        short name from the configured LLM (``names``; default ``[organize] topic_names`` when a backend is set)."""
        from spyglass.organize.ctfidf import ctfidf

        if self.store.topics_built() is None:
            return []
        members = self.store.topic_members(principals)
        weights = ctfidf(self.store.topic_term_counts(principals))
        info = self.catalog.items([i for ids in members.values() for i in ids[:examples]])
        out = []
        for t, ids in sorted(members.items(), key=lambda kv: -len(kv[1])):
            words = [w for w, _ in weights.get(t, [])[:terms]]
            out.append({"id": t, "label": ", ".join(words), "terms": words, "size": len(ids),
                        "examples": [{"id": i, "title": info[i]["title"] or info[i]["name"], "path": info[i]["path"]}
                                     for i in ids[:examples] if i in info]})
        self._name_topics(out, names)
        return out

    def _name_topics(self, topics: list[dict], names: bool | None) -> None:
        from spyglass.organize.naming import name_key, name_topic

        if names is False or (names is None and not self.sg.config.organize.topic_names):
            return
        chat = None
        for t in topics:
            titles = [e["title"] for e in t["examples"]]
            key = name_key(t["terms"], titles)
            name = self.store.topic_name(key)
            if name is None:
                if chat is None:
                    from spyglass.app.ask import make_chat

                    chat = make_chat(self.sg.config.answer) or False
                if chat is False or not t["terms"]:
                    continue
                try:
                    name = name_topic(chat, t["terms"], titles)
                except SpyglassError as exc:  # the endpoint is down: words stay the label
                    t["name_error"] = str(exc)
                    chat = False
                    continue
                if name:
                    self.store.set_topic_name(key, name)
            if name:
                t["name"] = name

    def topic_items(self, topic_ids: list[int]) -> list[str]:
        return self.store.items_in_topics(topic_ids)

    # -- resolving files ----------------------------------------------------------------------------------------
    def resolve(self, ref: str, principals: Principals) -> dict[str, Any]:
        """An indexed file by item id or path, only when the caller may read it."""
        it = self.catalog.visible_item(ref, principals) if re.fullmatch(r"[0-9a-f]{16}", ref) else None
        if it is None:
            raw = os.fsencode(os.path.abspath(os.path.expanduser(ref)))
            r = self.catalog.db.execute(
                "SELECT id FROM items WHERE path_raw = ? AND parent_id IS NULL AND status != 'deleted'",
                (raw,)).fetchone()
            it = self.catalog.visible_item(r[0], principals) if r else None
        if it is None:
            raise NotFoundError(f"{ref} is not an indexed file you can read")
        return it

    # -- tags ---------------------------------------------------------------------------------------------------
    def add_tag(self, ref: str, tag: str, principals: Principals = EVERYTHING, origin: str = "user",
                by: str | None = None) -> str:
        """``by``: the user setting it (None: the local owner or an admin, who may change any tag)."""
        tag = normalize_tag(tag)
        it = self.resolve(ref, principals)
        if by is not None and origin != "user":  # accepting or rejecting changes the tag: like removing it
            self._check_tag_author(it["id"], tag, by)
        self.store.set_tag(it["id"], tag, origin, by)
        return it["id"]

    def remove_tag(self, ref: str, tag: str, principals: Principals = EVERYTHING, by: str | None = None) -> bool:
        """Only the tag's author (``by``) or an admin/local owner (``by=None``) may remove a tag."""
        it = self.resolve(ref, principals)
        if by is not None:
            self._check_tag_author(it["id"], normalize_tag(tag), by)
        return self.store.remove_tag(it["id"], normalize_tag(tag))

    def _check_tag_author(self, iid: str, tag: str, by: str) -> None:
        from spyglass.core.errors import ForbiddenError

        exists, author = self.store.tag_author(iid, tag)
        if exists and author != by:
            raise ForbiddenError(f"the tag {tag!r} was set by someone else: only its author or an admin may change it")

    def tags(self, principals: Principals = EVERYTHING, ref: str | None = None) -> list[dict[str, str]]:
        iid = self.resolve(ref, principals)["id"] if ref else None
        return [{"id": i, "tag": t, "origin": o} for i, t, o in self.store.tags(principals, iid)]

    def suggest_tags(self, ref: str, principals: Principals = EVERYTHING, top: int = 5) -> list[dict]:
        from spyglass.organize.tags import combine, folder_labels, knn_tag_scores, zero_shot_scores

        it = self.resolve(ref, principals)
        files = self.store.files(principals)
        own: dict[str, dict[str, float]] = {f["id"]: {} for f in files}
        for f in files:
            root = f["source_root"].rstrip("/") + "/"
            for lab in folder_labels(f["path"], root):
                own[f["id"]][lab] = 0.5
        present, rejected = set(), set()
        for iid, tag, origin in self.store.tags(principals):
            w = -1.0 if origin == "rejected" else 1.0
            own.setdefault(iid, {})[tag] = w
            if iid == it["id"]:
                (rejected if origin == "rejected" else present).add(tag)
        ids, x = self.doc_vectors([f["id"] for f in files])
        if it["id"] not in ids:
            return []
        me = ids.index(it["id"])
        learned = knn_tag_scores(x[me], x, [own.get(i, {}) for i in ids], exclude=me)
        vocab = sorted(set(self.sg.config.organize.tag_vocabulary) | {t for _, t, o in self.store.tags(principals)
                                                                      if o != "rejected"})
        zs = {}
        if vocab:
            import numpy as np

            tv = np.asarray(self.sg.embedder().embed([f"a document about {t}" for t in vocab]), dtype=np.float32)
            tv /= np.maximum(np.linalg.norm(tv, axis=1, keepdims=True), 1e-12)
            zs = zero_shot_scores(x[me], tv, vocab)
        return [s.to_dict() for s in combine(learned, zs, rejected, present, top,
                                             self.sg.config.organize.min_tag_score)]

    # -- plans --------------------------------------------------------------------------------------------------
    def _tag_fn(self, principals: Principals):
        def tag(path: str, tag: str, add: bool) -> bool:
            try:
                if add:
                    self.add_tag(path, tag, principals, origin="plan")
                    return True
                return self.remove_tag(path, tag, principals)
            except NotFoundError:
                return False

        return tag

    def write_plan(self, output: Path, principals: Principals = EVERYTHING, tags: bool = True) -> Any:
        if output.exists():
            raise SpyglassError(f"{output} exists: choose another file (plans are never overwritten)")
        plan = make_plan(self, principals, tags=tags)
        plan.write(output)
        return plan

    def apply(self, plan_file: Path, principals: Principals = EVERYTHING) -> dict[str, Any]:
        """Apply a reviewed plan (resuming one that was interrupted)."""
        from spyglass.organize.apply import apply_plan
        from spyglass.organize.plan import Plan

        plan = Plan.load(plan_file)
        return apply_plan(plan, self.journals, self._tag_fn(principals)).to_dict()

    def undo(self, plan_id: str | None = None, principals: Principals = EVERYTHING) -> dict[str, Any]:
        """Revert what a plan did (default: the last one applied)."""
        from spyglass.organize.apply import undo_plan

        if plan_id is None:
            js = self.journals_list()
            if not js:
                raise SpyglassError("no plan has been applied")
            plan_id = js[-1]["plan"]
        return undo_plan(self.journals, plan_id, self._tag_fn(principals)).to_dict()

    # -- plans kept by the server, reviewed in the web app --------------------------------------------------------
    PLAN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{4}")

    @property
    def plans_dir(self) -> Path:
        return self.sg.home / "organize" / "plans"

    def save_plan(self, owner: str, principals: Principals, tags: bool = True) -> dict[str, Any]:
        """Make a plan over the caller's files and keep it for review (``organize/plans/<id>.yaml``)."""
        import json

        plan = make_plan(self, principals, tags=tags)
        self.plans_dir.mkdir(parents=True, exist_ok=True)
        plan.write(self.plans_dir / f"{plan.id}.yaml")
        (self.plans_dir / f"{plan.id}.json").write_text(json.dumps({"owner": owner, "created": plan.created}))
        return self.plan_view(plan.id)

    def _plan_file(self, plan_id: str) -> Path:
        if not self.PLAN_ID.fullmatch(plan_id) or not (self.plans_dir / f"{plan_id}.yaml").is_file():
            raise NotFoundError(f"no plan {plan_id!r}")
        return self.plans_dir / f"{plan_id}.yaml"

    def plan_view(self, plan_id: str, journals: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A kept plan, its actions numbered from 0, and what was applied of it (``journals``: the applied plans,
        when the caller has read them already)."""
        import json

        from spyglass.organize.plan import Plan

        plan = Plan.load(self._plan_file(plan_id))
        meta_file = self.plans_dir / f"{plan_id}.json"
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        journals = self.journals_list() if journals is None else journals
        applied = next((j for j in journals if j["plan"] == plan_id), None)
        return {"id": plan.id, "owner": meta.get("owner"), "created": meta.get("created"),
                "actions": [{"n": n, **a.to_dict()} for n, a in enumerate(plan.actions)], "applied": applied}

    def plans(self) -> list[dict[str, Any]]:
        out = []
        journals = self.journals_list()  # read once, not once per plan
        for f in sorted(self.plans_dir.glob("*.yaml")) if self.plans_dir.exists() else []:
            if self.PLAN_ID.fullmatch(f.stem):
                v = self.plan_view(f.stem, journals)
                out.append({k: v[k] for k in ("id", "owner", "created", "applied")} | {"actions": len(v["actions"])})
        return out

    def apply_reviewed(self, plan_id: str, keep: list[int], principals: Principals) -> dict[str, Any]:
        """Apply the actions of a kept plan that the reviewer kept (by number), with the usual journal."""
        from spyglass.organize.apply import apply_plan
        from spyglass.organize.plan import Plan

        plan = Plan.load(self._plan_file(plan_id))
        bad = [n for n in keep if not 0 <= n < len(plan.actions)]
        if bad:
            raise SpyglassError(f"plan {plan_id} has no action(s) {bad}")
        plan.actions = [plan.actions[n] for n in sorted(set(keep))]
        plan.write(self.plans_dir / f"{plan_id}.yaml.reviewed")  # what was applied, for the record
        return apply_plan(plan, self.journals, self._tag_fn(principals)).to_dict()

    def journals_list(self) -> list[dict[str, Any]]:
        from spyglass.organize.apply import journals_list

        return journals_list(self.journals) if self.journals.exists() else []

    # -- folders ------------------------------------------------------------------------------------------------
    def where(self, path: str, principals: Principals = EVERYTHING, top: int = 3) -> dict[str, Any]:
        """The best existing folders for a file (indexed or not), with confidence."""
        from spyglass.organize.folders import suggest_folders

        files = self.store.files(principals)
        ids, x = self.doc_vectors([f["id"] for f in files])
        if not ids:
            return {"file": path, "current": None, "suggestions": []}
        folder_of = {f["id"]: os.path.dirname(f["path"]) for f in files}
        exclude: set[int] = set()
        try:
            it = self.resolve(path, principals)
        except NotFoundError:
            it = None
        if it is not None and it["id"] in ids:
            q = x[ids.index(it["id"])]
            exclude = {ids.index(it["id"])}
        elif it is not None:  # indexed but not embedded (yet): its indexed text
            q = self.embed_text(self.store.texts([it["id"]]).get(it["id"]) or it["name"])
        else:
            q = self.embed_text(self._read_text(path))
        sug = suggest_folders(q, x, [folder_of[i] for i in ids], ids, top=top, exclude=exclude)
        file = it["path"] if it is not None else os.path.abspath(path)
        return {"file": file, "current": os.path.dirname(file), "suggestions": [s.to_dict() for s in sug]}

    def _read_text(self, path: str) -> str:
        from spyglass.extraction.base import Blob, Context
        from spyglass.extraction.registry import extract_blob

        p = Path(path).expanduser()
        if not p.is_file():
            raise NotFoundError(f"no file {path}")
        ex = extract_blob(Blob(p.name, path=p), Context(limits=self.sg.config.limits, media=self.sg.config.media))
        text = "\n".join(s.text for s in ex.segments)
        return ((ex.title or "") + "\n" + text).strip() or p.stem.replace("_", " ")


def make_plan(org: Organizer, principals: Principals = EVERYTHING, tags: bool = True) -> Any:
    """A plan over the caller's files: duplicate copies to the holding folder, unfiled files into their best folder,
    generic names to their document titles, and confident tag suggestions. Writes nothing."""
    from spyglass.organize.duplicates import file_path
    from spyglass.organize.folders import suggest_folders
    from spyglass.organize.plan import Action, Plan

    cfg = org.sg.config.organize
    files = org.store.files(principals)
    by_id = {f["id"]: f for f in files}
    actions: list[Action] = []
    claimed: set[str] = set()
    targets: set[str] = set()

    def act(f: dict, op: str, to: str, why: str) -> None:
        if to in targets or os.path.lexists(to):
            return
        targets.add(to)
        claimed.add(f["id"])
        st = os.lstat(file_path(f))
        actions.append(Action(op, file_path(f), to, None, why, st.st_size, st.st_mtime_ns))

    for g in org.duplicates(principals, near=None, images=False):
        keep = by_id[g["keep"]]
        for d in g["files"]:
            f = by_id[d["id"]]
            if f["id"] == g["keep"] or not os.path.isfile(file_path(f)):
                continue
            root = f["source_root"]
            rel = os.path.relpath(file_path(f), root)
            if rel.startswith(cfg.holding_folder + os.sep):
                continue
            act(f, "move", os.path.join(root, cfg.holding_folder, rel),
                f"exact copy of {keep['path']} (kept: newest)")
    embedded = None
    for f in files:
        p = file_path(f)
        if f["id"] in claimed or not os.path.isfile(p) or os.path.dirname(p) != f["source_root"].rstrip(os.sep):
            continue
        if embedded is None:
            ids, x = org.doc_vectors([g["id"] for g in files]) if org.sg.parts.dense() is not None else ([], None)
            embedded = (ids, x, [os.path.dirname(file_path(by_id[i])) for i in ids])
        ids, x, folders = embedded
        if f["id"] not in ids:
            continue
        me = ids.index(f["id"])
        # only folders below the root are candidates: the file already sits in the root
        mask = [fo != f["source_root"].rstrip(os.sep) for fo in folders]
        keep_rows = [i for i, m in enumerate(mask) if m]
        if not keep_rows:
            continue
        sug = suggest_folders(x[me], x[keep_rows], [folders[i] for i in keep_rows], top=1)
        if sug and sug[0].confidence >= cfg.min_folder_confidence:
            act(f, "move", os.path.join(sug[0].folder, os.path.basename(p)),
                f"unfiled; similar files are in {sug[0].folder} (confidence {sug[0].confidence:.2f})")
    for f in files:
        p = file_path(f)
        stem, ext = os.path.splitext(os.path.basename(p))
        if f["id"] in claimed or not f.get("title") or not GENERIC_NAME.match(stem) or not os.path.isfile(p):
            continue
        slug = re.sub(r"[^\w\- ]+", "", f["title"]).strip()[:80].strip()
        if slug:
            act(f, "rename", os.path.join(os.path.dirname(p), slug + ext), f"generic name; the document's title is "
                f"{f['title']!r}")
    if tags and org.sg.parts.dense() is not None:
        have = {i for i, _, _ in org.store.tags(principals)}
        for f in files[:500]:
            if f["id"] in have:
                continue
            for sgt in org.suggest_tags(f["id"], principals, top=2):
                if sgt["score"] >= max(0.5, cfg.min_tag_score):
                    actions.append(Action("tag", file_path(f), None, sgt["tag"], "; ".join(sgt["reasons"])))
    return Plan.new(actions)


def _file_dhash(path: str) -> int:
    from PIL import UnidentifiedImageError

    from spyglass.extraction.image import dhash_of, open_image

    try:
        with open_image(Path(path).expanduser()) as im:  # HEIC too, like indexing
            im.seek(0)
            return dhash_of(im)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise SpyglassError(f"{path} is not an image Spyglass can read: {exc}") from exc


def normalize_tag(tag: str) -> str:
    t = re.sub(r"\s+", "-", tag.strip().lower())
    if not t or len(t) > 64 or not re.fullmatch(r"[^\W_][\w.+-]*", t, re.UNICODE):
        raise SpyglassError(f"not a tag: {tag!r} (letters, digits, - . + _; up to 64 characters)")
    return t
