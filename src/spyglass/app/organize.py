"""Organize, composed: duplicates, look-alike photos, topics, tags, folder suggestions and plans over one index.

:func:`open_organizer` builds an :class:`OrganizeService` from the parts it needs (the catalog's organize store, the
document vectors, the image retriever, the chat model for topic names, the ``[organize]`` settings and the plans and
journals folders) — never from the Spyglass object. SQL lives in :mod:`spyglass.index.organize_store`, the algorithms
in :mod:`spyglass.organize`; this class only gathers their inputs for one caller and hands the results back.

Every read takes the caller's principals (a list, or :data:`~spyglass.core.acl.EVERYTHING`; None is refused) and
passes them into the catalog queries. Topic *assignments* are computed over the whole collection, but a topic's size,
label and examples are computed per request from the documents the caller may read, so no one learns a word from a
file they cannot open.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spyglass.core.acl import EVERYTHING, Principals, require
from spyglass.core.config import LimitSettings, MediaSettings, OrganizeSettings
from spyglass.core.errors import NotFoundError, SpyglassError
from spyglass.index.doc_vectors import DocumentVectors
from spyglass.index.organize_store import OrganizeStore
from spyglass.organize.ctfidf import label_terms
from spyglass.organize.shelf import PlanShelf

if TYPE_CHECKING:
    from spyglass.app.components import Components
    from spyglass.app.spyglass import Spyglass
    from spyglass.organize.plan import Plan
    from spyglass.organize.tags import TagBoard


class OrganizeService:
    def __init__(self, store: OrganizeStore, vectors: DocumentVectors, settings: OrganizeSettings, shelf: PlanShelf,
                 images: Callable[[], Any] = lambda: None, chat: Callable[[], Any] = lambda: None,
                 read_text: Callable[[str], str] | None = None) -> None:
        """``images()``: the image retriever or None; ``chat()``: the chat model for topic names or None;
        ``read_text(path)``: the text of a file that is not indexed (for :meth:`where`)."""
        self.store, self.vectors, self.settings, self.shelf = store, vectors, settings, shelf
        self._images, self._chat, self._read_text = images, chat, read_text

    @property
    def catalog(self) -> Any:
        return self.store.catalog

    @property
    def journals(self) -> Path:
        return self.shelf.journals

    @property
    def plans_dir(self) -> Path:
        return self.shelf.plans

    def close(self) -> None:
        self.store.catalog.close()

    # -- vectors (kept for callers of the old Organizer; new code reads self.vectors) ---------------------------
    def doc_vectors(self, ids: list[str], required: bool = False) -> tuple[list[str], Any]:
        return self.vectors.of(ids, required)

    def embed_text(self, text: str) -> Any:
        return self.vectors.embed_text(text)

    # -- duplicates ---------------------------------------------------------------------------------------------
    def duplicates(self, principals: Principals = EVERYTHING, near: bool | float | None = True,
                   images: bool = True) -> list[dict[str, Any]]:
        """Duplicate groups among the caller's documents. ``near``: True for ``[organize] near_duplicate``, a
        threshold, or False/None for exact copies only."""
        return [g.to_dict() for g in self._duplicate_groups(principals, near, images)]

    def _duplicate_groups(self, principals: Principals, near: bool | float | None, images: bool,
                          docs: list[dict[str, Any]] | None = None) -> list[Any]:
        from spyglass.organize.duplicates import find_duplicates

        s = self.settings
        threshold = s.near_duplicate if near is True else (near or None)
        return find_duplicates(self.store.documents(principals) if docs is None else docs, self.store.texts,
                               threshold, images, s.lookalike_distance, holding_folder=s.holding_folder)

    def similar(self, ref: str, principals: Principals = EVERYTHING, limit: int = 10, by: str = "hash",
                max_distance: int | None = None) -> dict[str, Any]:
        """Look-alike images among the caller's readable images; ``ref`` is an indexed image (path or id) or any image
        file. ``by="hash"``: perceptual hash, no model (copies, resizes, light edits), only within ``max_distance``
        bits of 64 (default ``[organize] lookalike_distance``); ``by="content"``: the text–image model's image
        vectors (the same scene or subject), when one is configured."""
        from spyglass.organize.imagehash import nearest

        if by == "content":
            return self._similar_content(ref, principals, limit)
        if by != "hash":
            raise SpyglassError(f"similar by {by!r}: use hash or content")
        cut = self.settings.lookalike_distance if max_distance is None else max_distance
        own = self._indexed(ref, principals)
        h = (self.store.dhash(own) if own else None) or _file_dhash(ref)
        files = {f["id"]: f for f in self.store.files(principals) if f.get("dhash") and f["id"] != own}
        ranked = nearest(h, {i: int(f["dhash"], 16) for i, f in files.items()}, limit, cut)
        return {"query": ref, "max_distance": cut, "similar": [
            {"id": i, "path": files[i]["path"], "distance": d, "similarity": round(1 - d / 64, 4)} for i, d in ranked]}

    def _indexed(self, ref: str, principals: Principals) -> str | None:
        try:
            return self.resolve(ref, principals)["id"]
        except NotFoundError:
            return None

    def _similar_content(self, ref: str, principals: Principals, limit: int) -> dict[str, Any]:
        from spyglass.retrieval.query import Filters

        images = self._images()
        if images is None:
            raise SpyglassError("similar by content needs a text-image model ([media] clip_image_model and "
                                "clip_text_model, docs/media.md) and a `spyglass index` run to embed the images")
        own = self._indexed(ref, principals)
        vec = images.vector_of(own) if own else None
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
        """Cluster every document with a vector — files, mail messages, chat days — of all users (labels are per
        caller at read time)."""
        from spyglass.organize.topics import cluster

        ids, x = self.vectors.of([d["id"] for d in self.store.documents(EVERYTHING)], required=True)
        if len(ids) < 2:
            raise SpyglassError("topics need at least two documents with embeddings: run `spyglass index` first")
        assignments, report = cluster(ids, x, k)
        texts = self.store.texts(ids)
        self.store.replace_topics(assignments, {i: label_terms(texts.get(i, "")) for i in ids})
        return report

    def topics(self, principals: Principals = EVERYTHING, terms: int = 5, examples: int = 3,
               names: bool | None = None) -> list[dict]:
        """Topics as the caller sees them: sizes, distinctive words and examples over what they may read, and a
        short name from the configured LLM (``names``; default ``[organize] topic_names`` when a backend is set)."""
        from spyglass.organize.naming import name_topics
        from spyglass.organize.topics import views

        require(principals)
        if self.store.topics_built() is None:
            return []
        members = self.store.topic_members(principals)
        info = self.catalog.items([i for ids in members.values() for i in ids[:examples]])
        out = views(members, self.store.topic_term_counts(principals), info, terms, examples)
        if names is True or (names is None and self.settings.topic_names):
            name_topics(out, self._chat, self.store.topic_name, self.store.set_topic_name)
        return out

    def topic_items(self, topic_ids: list[int]) -> list[str]:
        return self.store.items_in_topics(topic_ids)

    # -- resolving files ----------------------------------------------------------------------------------------
    def resolve(self, ref: str, principals: Principals) -> dict[str, Any]:
        """An indexed document by id, or a file by path, only when the caller may read it."""
        require(principals)
        it = self.catalog.visible_item(ref, principals) if re.fullmatch(r"[0-9a-f]{16}", ref) else None
        if it is None:
            iid = self.store.file_id_by_path(os.fsencode(os.path.abspath(os.path.expanduser(ref))))
            it = self.catalog.visible_item(iid, principals) if iid else None
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
        """Tags for one document, each with its true reason (:mod:`spyglass.organize.tags`)."""
        it = self.resolve(ref, principals)
        board = self._tag_board(principals)
        return [s.to_dict() for s in board.suggest(it["id"], top, self.settings.min_tag_score)] if board else []

    def _tag_board(self, principals: Principals, docs: list[dict[str, Any]] | None = None) -> TagBoard | None:
        """The inputs of tag suggestions over the caller's documents (None: no vectors)."""
        from spyglass.organize.tags import TagBoard, folder_labels

        docs = self.store.documents(principals) if docs is None else docs
        ids, x = self.vectors.of([d["id"] for d in docs])
        if not ids:
            return None
        tags: dict[str, dict[str, float]] = {}
        for iid, tag, origin in self.store.tags(principals):
            tags.setdefault(iid, {})[tag] = -1.0 if origin == "rejected" else 1.0
        vocab = sorted(set(self.settings.tag_vocabulary) | {t for ts in tags.values() for t, w in ts.items() if w > 0})
        by_id = {d["id"]: d for d in docs}
        return TagBoard(ids, x, tags, {i: folder_labels(by_id[i]["path"], by_id[i]["source_root"].rstrip("/") + "/")
                                       for i in ids}, vocab,
                        self.vectors.embed_texts([f"a document about {t}" for t in vocab]) if vocab else None)

    # -- folders ------------------------------------------------------------------------------------------------
    def where(self, path: str, principals: Principals = EVERYTHING, top: int = 3) -> dict[str, Any]:
        """The best existing folders for a file (indexed or not), with confidence (never the plans' holding folder)."""
        from spyglass.organize.duplicates import file_path
        from spyglass.organize.folders import suggest_folders
        from spyglass.organize.keeper import place_rank

        files = {f["id"]: f for f in self.store.files(principals)}
        ids, x = self.vectors.of(list(files))
        if not ids:
            return {"file": path, "current": None, "suggestions": []}
        it = None if not path else self._visible_or_none(path, principals)
        me = ids.index(it["id"]) if it is not None and it["id"] in ids else None
        q = x[me] if me is not None else self.vectors.embed_text(self._text_of(path, it))
        exclude = {n for n, i in enumerate(ids) if n == me or place_rank(files[i], self.settings.holding_folder) < 0}
        sug = suggest_folders(q, x, [os.path.dirname(file_path(files[i])) for i in ids], ids, top=top,
                              exclude=exclude)
        file = it["path"] if it is not None else os.path.abspath(path)
        return {"file": file, "current": os.path.dirname(file), "suggestions": [s.to_dict() for s in sug]}

    def _visible_or_none(self, ref: str, principals: Principals) -> dict[str, Any] | None:
        try:
            return self.resolve(ref, principals)
        except NotFoundError:
            return None

    def _text_of(self, path: str, it: dict[str, Any] | None) -> str:
        if it is not None:  # indexed but not embedded (yet): its indexed text
            return self.store.texts([it["id"]]).get(it["id"]) or it["name"]
        if self._read_text is None:
            raise SpyglassError(f"{path} is not indexed and this service cannot read files")
        return self._read_text(path)

    # -- plans --------------------------------------------------------------------------------------------------
    def make_plan(self, principals: Principals = EVERYTHING, tags: bool = True) -> Plan:
        """A plan over the caller's documents (:mod:`spyglass.organize.planner`). Writes nothing."""
        from spyglass.organize.planner import PlanInputs, PlanSettings, make_plan

        docs = self.store.documents(principals)
        files = [d for d in docs if not d.get("parent_id")]
        have_vectors = self.vectors.available()
        board = self._tag_board(principals, docs) if tags and have_vectors and self._tags_possible(principals) \
            else None
        inputs = PlanInputs(files, {d["id"]: d for d in docs}, self._duplicate_groups(principals, False, False, docs),
                            self.vectors.of([f["id"] for f in files]) if have_vectors else None, board)
        s = self.settings
        return make_plan(inputs, PlanSettings(s.holding_folder, s.min_folder_confidence, s.min_tag_score), tags)

    def _tags_possible(self, principals: Principals) -> bool:
        """A plan's tags come from the user's tags or the vocabulary: without either there is nothing to learn."""
        return bool(self.settings.tag_vocabulary) or any(o != "rejected" for _, _, o in self.store.tags(principals))

    def write_plan(self, output: Path, principals: Principals = EVERYTHING, tags: bool = True) -> Plan:
        if output.exists():
            raise SpyglassError(f"{output} exists: choose another file (plans are never overwritten)")
        plan = self.make_plan(principals, tags=tags)
        plan.write(output)
        return plan

    def _tag_fn(self, principals: Principals) -> Callable[[str, str, bool], bool]:
        def tag(ref: str, tag: str, add: bool) -> bool:
            try:
                if add:
                    self.add_tag(ref, tag, principals, origin="plan")
                    return True
                return self.remove_tag(ref, tag, principals)
            except NotFoundError:
                return False

        return tag

    def apply(self, plan_file: Path, principals: Principals = EVERYTHING) -> dict[str, Any]:
        """Apply a reviewed plan (resuming one that was interrupted)."""
        from spyglass.organize.apply import apply_plan
        from spyglass.organize.plan import Plan

        return apply_plan(Plan.load(plan_file), self.journals, self._tag_fn(principals)).to_dict()

    def undo(self, plan_id: str | None = None, principals: Principals = EVERYTHING) -> dict[str, Any]:
        """Revert what a plan did (default: the last one applied)."""
        from spyglass.organize.apply import undo_plan

        if plan_id is None:
            js = self.journals_list()
            if not js:
                raise SpyglassError("no plan has been applied")
            plan_id = js[-1]["plan"]
        return undo_plan(self.journals, plan_id, self._tag_fn(principals)).to_dict()

    def journals_list(self) -> list[dict[str, Any]]:
        return self.shelf.applied()

    # -- plans kept by the server, reviewed in the web app --------------------------------------------------------
    def save_plan(self, owner: str, principals: Principals, tags: bool = True) -> dict[str, Any]:
        """Make a plan over the caller's files and keep it for review (``organize/plans/<id>.yaml``). Callable from a
        background job: it needs nothing but this service (open one per job with :func:`open_organizer`)."""
        return self.shelf.view(self.shelf.keep(self.make_plan(principals, tags=tags), owner))

    def plan_view(self, plan_id: str) -> dict[str, Any]:
        return self.shelf.view(plan_id)

    def plans(self) -> list[dict[str, Any]]:
        return self.shelf.list()

    def apply_reviewed(self, plan_id: str, keep: list[int], principals: Principals) -> dict[str, Any]:
        """Apply the actions of a kept plan that the reviewer kept (by number), with the usual journal."""
        from spyglass.organize.apply import apply_plan

        return apply_plan(self.shelf.reviewed(plan_id, keep), self.journals, self._tag_fn(principals)).to_dict()

    def undo_kept(self, plan_id: str, principals: Principals) -> dict[str, Any]:
        """Undo a kept plan (NotFoundError when no such plan was kept)."""
        self.shelf.file(plan_id)
        return self.undo(plan_id, principals)

    def _plan_file(self, plan_id: str) -> Path:  # the old name, for callers not yet on undo_kept
        return self.shelf.file(plan_id)


# -- composition ------------------------------------------------------------------------------------------------
def _passage_vectors(parts: Components) -> Callable[[bool], Any]:
    def vectors(required: bool) -> Any:
        dense = parts.dense(required=required)
        return None if dense is None else dense.vectors

    return vectors


def document_vectors(parts: Components) -> DocumentVectors:
    """Document vectors over the index's read handles (for related files and anything else that needs them)."""
    return DocumentVectors(parts.reader().catalog, _passage_vectors(parts), parts.embedder)


def open_organizer(parts: Components) -> OrganizeService:
    """The organize service of one data directory, on its own catalog connection (tags and topics are written);
    close it when done. Models load on first use only."""
    from spyglass.index.catalog import Catalog

    home = parts.home
    if not (home / "catalog.sqlite3").exists():
        raise SpyglassError(f"no index at {home}: run `spyglass index FOLDER` first")
    catalog = Catalog(home / "catalog.sqlite3")  # creates the organize tables of an older catalog
    config = parts.config
    return OrganizeService(OrganizeStore(catalog), DocumentVectors(catalog, _passage_vectors(parts), parts.embedder),
                           config.organize, PlanShelf(home / "organize" / "plans", home / "organize" / "journals"),
                           images=parts.images, chat=lambda: _chat(config.answer),
                           read_text=lambda path: read_file_text(path, config.limits, config.media))


def Organizer(sg: Spyglass) -> OrganizeService:  # the old entry point, kept until its callers switch
    """Deprecated: ``open_organizer(sg.parts)``."""
    return open_organizer(sg.parts)


def _chat(answer: Any) -> Any:
    from spyglass.app.ask import make_chat

    return make_chat(answer)


def read_file_text(path: str, limits: LimitSettings, media: MediaSettings) -> str:
    """The text of a file that is not indexed (title and body), extracted like indexing does."""
    from spyglass.extraction.base import Blob, Context
    from spyglass.extraction.registry import extract_blob

    p = Path(path).expanduser()
    if not p.is_file():
        raise NotFoundError(f"no file {path}")
    ex = extract_blob(Blob(p.name, path=p), Context(limits=limits, media=media))
    text = "\n".join(s.text for s in ex.segments)
    return ((ex.title or "") + "\n" + text).strip() or p.stem.replace("_", " ")


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
