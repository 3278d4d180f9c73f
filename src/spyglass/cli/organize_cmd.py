"""``spyglass duplicates``, ``topics``, ``tags``, ``where`` and ``organize plan|apply|undo|journals``."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Optional

import typer

from spyglass.cli.main import HomeOpt, JsonOpt, _run, _sg, app
from spyglass.cli.output import esc, fmt_size, fmt_time, out, print_json

AsUserOpt = typer.Option(None, "--as-user", help="Only what this user may read.")

organize_app = typer.Typer(help="Reviewable plans to tidy your files: write one, read it, apply it, undo it.",
                           no_args_is_help=True)
tags_app = typer.Typer(help="Tags on your files: add, remove, list, and suggestions learned from your own tags.",
                       no_args_is_help=True)
app.add_typer(organize_app, name="organize")
app.add_typer(tags_app, name="tags")


@contextlib.contextmanager
def _org(home: Optional[Path], as_user: Optional[str]) -> Iterator[tuple]:
    from spyglass.app.organize import Organizer

    sg = _sg(home)
    org = Organizer(sg)
    try:
        yield org, sg.access(as_user)
    finally:
        org.close()


@app.command()
def duplicates(
    near: bool = typer.Option(True, "--near/--exact-only", help="Also near-duplicate text and look-alike images."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Groups of duplicate files: exact copies, near-duplicate text, look-alike images; the copy to keep is marked."""

    def body() -> None:
        with _org(home, as_user) as (org, principals):
            groups = org.duplicates(principals, near=org.sg.config.organize.near_duplicate if near else None,
                                    images=near)
        if json_:
            print_json({"groups": groups})
            return
        if not groups:
            out.print("No duplicates.")
        for g in groups:
            out.print(f"[bold]{esc(g['kind'])}[/bold] ({len(g['files'])} files, similarity {g['similarity']:.2f})")
            for f in g["files"]:
                mark = "keep" if f["id"] == g["keep"] else "    "
                out.print(f"  {mark}  {esc(f['path'])}  [dim]{fmt_size(f['size'])}, {fmt_time(f['modified'])}[/dim]",
                          highlight=False)

    _run(body)


@app.command()
def topics(
    rebuild: bool = typer.Option(False, "--rebuild", help="Cluster the collection again (after it changed)."),
    k: Optional[int] = typer.Option(None, "--k", min=2, max=500, help="Number of topics [default: chosen by "
                                                                      "silhouette]."),
    names: bool = typer.Option(True, "--names/--no-names", help="Name topics with the configured LLM "
                                                                "([answer] backend), cached."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Topics of the collection (clusters of its embeddings), each labelled by its most distinctive words and, when
    an LLM is configured, a short name. Search within one with `topic:ID`."""

    def body() -> None:
        with _org(home, as_user) as (org, principals):
            built = None
            if rebuild or org.store.topics_built() is None:
                built = org.build_topics(k)
            ts = org.topics(principals, names=None if names else False)
        if json_:
            print_json({"topics": ts, "built": built})
            return
        if built:
            out.print(f"[dim]clustered {built['documents']} documents into {built['k']} topics[/dim]")
        for t in ts:
            title = f"{t['name']}  [dim]{t['label']}[/dim]" if t.get("name") else t["label"]
            out.print(f"[bold]topic:{t['id']}[/bold]  {esc(title)}  [dim]({t['size']} files)[/dim]", highlight=False)
            for e in t["examples"]:
                out.print(f"    {esc(e['title'])}  [dim]{esc(e['path'])}[/dim]", highlight=False)

    _run(body)


@app.command()
def similar(
    photo: str = typer.Argument(..., help="An image (indexed or not)."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=200),
    by: str = typer.Option("hash", "--by", help="hash: copies, resizes, light edits (no model); content: the same "
                                                "scene or subject (needs the [media] clip_* model)."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Look-alike images: resized, recompressed or lightly edited copies first (perceptual hash, no model), or
    --by content with a text-image model."""

    def body() -> None:
        with _org(home, as_user) as (org, principals):
            res = org.similar(photo, principals, limit, by=by)
        if json_:
            print_json(res)
            return
        for r in res["similar"]:
            out.print(f"{r['similarity']:.0%}  {r['path']}", highlight=False, markup=False)

    _run(body)


@app.command()
def where(
    file: Path = typer.Argument(..., help="A file (indexed or not)."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """The existing folders where FILE would fit best, with confidence (from the folders of similar files)."""

    def body() -> None:
        with _org(home, as_user) as (org, principals):
            res = org.where(str(file), principals)
        if json_:
            print_json(res)
            return
        if not res["suggestions"]:
            out.print("No suggestion: no similar filed documents.")
        for s in res["suggestions"]:
            out.print(f"{s['confidence']:.0%}  {s['folder']}", highlight=False, markup=False)

    _run(body)


@tags_app.command("list")
def tags_list(
    file: Optional[str] = typer.Argument(None, help="Only this file's tags (path or document id)."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Tags on your files (rejected suggestions included, marked)."""

    def body() -> None:
        with _org(home, as_user) as (org, principals):
            rows = org.tags(principals, file)
            paths = org.catalog.items(sorted({r["id"] for r in rows}))
        for r in rows:
            r["path"] = paths[r["id"]]["path"] if r["id"] in paths else None
        if json_:
            print_json({"tags": rows})
            return
        for r in rows:
            out.print(f"{r['tag']:<20} {r['origin']:<9} {r['path']}", highlight=False, markup=False)

    _run(body)


def _tag_cmd(file: str, tag: str, origin: str, as_user: Optional[str], home: Optional[Path], json_: bool) -> None:
    def body() -> None:
        with _org(home, as_user) as (org, principals):
            iid = org.add_tag(file, tag, principals, origin)
        if json_:
            print_json({"id": iid, "tag": tag, "origin": origin})
        else:
            out.print(f"{origin}: {tag} on {file}", highlight=False, markup=False)

    _run(body)


@tags_app.command("add")
def tags_add(file: str = typer.Argument(..., help="Path or document id."), tag: str = typer.Argument(...),
             as_user: Optional[str] = AsUserOpt, home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """Tag a file (kept in the index, the file is not changed)."""
    _tag_cmd(file, tag, "user", as_user, home, json_)


@tags_app.command("accept")
def tags_accept(file: str = typer.Argument(...), tag: str = typer.Argument(...),
                as_user: Optional[str] = AsUserOpt, home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """Accept a suggested tag (it then teaches later suggestions)."""
    _tag_cmd(file, tag, "accepted", as_user, home, json_)


@tags_app.command("reject")
def tags_reject(file: str = typer.Argument(...), tag: str = typer.Argument(...),
                as_user: Optional[str] = AsUserOpt, home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """Reject a suggested tag: never suggested for this file again, and a counter-example for similar files."""
    _tag_cmd(file, tag, "rejected", as_user, home, json_)


@tags_app.command("remove")
def tags_remove(file: str = typer.Argument(...), tag: str = typer.Argument(...),
                as_user: Optional[str] = AsUserOpt, home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """Remove a tag (or forget a rejection)."""

    def body() -> None:
        with _org(home, as_user) as (org, principals):
            ok = org.remove_tag(file, tag, principals)
        print_json({"removed": ok}) if json_ else out.print("removed" if ok else "no such tag")

    _run(body)


@tags_app.command("suggest")
def tags_suggest(file: str = typer.Argument(..., help="Path or document id."), as_user: Optional[str] = AsUserOpt,
                 home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """Suggested tags for a file, with why (accept or reject them with `tags accept|reject`)."""

    def body() -> None:
        with _org(home, as_user) as (org, principals):
            sug = org.suggest_tags(file, principals)
        if json_:
            print_json({"suggestions": sug})
            return
        if not sug:
            out.print("No suggestion.")
        for s in sug:
            out.print(f"{esc(s['tag']):<20} {s['score']:.2f}  [dim]{esc('; '.join(s['reasons']))}[/dim]", highlight=False)

    _run(body)


@organize_app.command("plan")
def organize_plan(
    output: Path = typer.Option(Path("spyglass-plan.yaml"), "--output", "-o", help="Where to write the plan."),
    tags: bool = typer.Option(True, "--tags/--no-tags", help="Include confident tag suggestions."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Write a plan (moves of duplicate copies to a holding folder, unfiled files into their best folder, renames of
    generic names, tags) for you to review. Nothing is changed."""

    def body() -> None:
        with _org(home, as_user) as (org, principals):
            plan = org.write_plan(output, principals, tags=tags)
        counts: dict[str, int] = {}
        for a in plan.actions:
            counts[a.op] = counts.get(a.op, 0) + 1
        if json_:
            print_json({"plan": plan.id, "file": str(output.resolve()), "actions": counts})
        else:
            out.print(f"Wrote {output} ({', '.join(f'{n} {op}' for op, n in counts.items()) or 'nothing to do'}). "
                      f"Review it, then: spyglass organize apply {output}", highlight=False)

    _run(body)


def _print_report(rep: dict, json_: bool) -> None:
    if json_:
        print_json(rep)
        return
    for s in rep["steps"]:
        arrow = f" -> {s['to']}" if s.get("to") else ""
        why = f"  [dim]({s['reason']})[/dim]" if s.get("reason") else ""
        out.print(f"{s['status']:<8} {s['op']:<6} {s['path']}{arrow}{why}", highlight=False, markup=False)
    out.print(f"done {rep['done']}, undone {rep['undone']}, skipped {rep['skipped']}, already {rep['already']}")


@organize_app.command("apply")
def organize_apply(
    plan_file: Path = typer.Argument(..., help="A plan written by `organize plan` (and reviewed)."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Apply a reviewed plan, journalling each step (run it again to resume after an interruption)."""

    def body() -> None:
        with _org(home, as_user) as (org, principals):
            rep = org.apply(plan_file, principals)
        _print_report(rep, json_)
        if not json_ and rep["done"]:
            out.print(f"Undo with: spyglass organize undo {rep['plan']}. Run `spyglass index` to refresh the index.",
                      markup=False)

    _run(body)


@organize_app.command("undo")
def organize_undo(
    plan_id: Optional[str] = typer.Argument(None, help="The plan's id [default: the last one applied]."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Revert exactly what a plan did (files back to their old names, its tags removed)."""

    def body() -> None:
        with _org(home, as_user) as (org, principals):
            rep = org.undo(plan_id, principals)
        _print_report(rep, json_)

    _run(body)


@organize_app.command("journals")
def organize_journals(home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """Plans applied so far, with their step counts."""

    def body() -> None:
        with _org(home, None) as (org, _):
            js = org.journals_list()
        if json_:
            print_json({"journals": js})
            return
        for j in js:
            out.print(f"{j['plan']}  applied {fmt_time(j['applied'])}  done {j['done']}  undone {j['undone']}",
                      markup=False)

    _run(body)
