"""``spyglass open``, ``activity``, ``suggest``, ``related`` and ``train ranker``: learning from use."""

from __future__ import annotations

import getpass
import shutil
import subprocess
from pathlib import Path
from typing import Optional

import typer

from spyglass.cli.main import HomeOpt, JsonOpt, _run, _sg, app
from spyglass.cli.output import esc, fmt_time, out, print_json

AsUserOpt = typer.Option(None, "--as-user", help="Act as this user [default: your login name].")

activity_app = typer.Typer(help="Your activity log (searches, results shown, opens): show it or erase it.",
                           no_args_is_help=True)
train_app = typer.Typer(help="Train models from your own use.", no_args_is_help=True)
app.add_typer(activity_app, name="activity")
app.add_typer(train_app, name="train")


def _who(as_user: Optional[str]) -> str:
    return as_user or getpass.getuser()


@app.command("open")
def open_(
    result: str = typer.Argument(..., help="A result number from your last search, a document id or a path."),
    launch: bool = typer.Option(False, "--launch", help="Also open it in the desktop's default application (a "
                                                        "message inside a mailbox or archive: a temporary copy)."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Open a search result (recorded in your activity log, which teaches ranking and suggestions). A file prints its
    path; a document inside a file (a message in a mailbox, an attachment, a chat day, a zip member) is shown."""
    from spyglass.app.learning import record_open

    def body() -> None:
        sg = _sg(home)
        user = _who(as_user)
        principals = sg.access(as_user)
        it = record_open(sg, user, result, principals)
        inner = it["parent_id"] is not None
        text = _text_of(sg, it["id"], principals) if inner else None
        if json_:
            print_json({"id": it["id"], "path": it["path"], "title": it["title"] or it["name"],
                        **({"in": it["parent_id"], "name": it["name"], "text": text} if inner else {})})
        elif inner:
            out.print(f"[bold]{esc(it['title'] or it['name'])}[/bold]  [dim]{it['type']} in {esc(it['path'])}[/dim]\n")
            out.print(text or "(no text: indexed by name and metadata only)", markup=False, highlight=False)
        else:
            out.print(it["path"], highlight=False, markup=False)
        if launch and shutil.which("xdg-open"):
            target = _export(it, text) if inner else it["path"]
            subprocess.Popen(["xdg-open", target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    _run(body)


def _text_of(sg, item_id: str, principals) -> str:
    """A document's indexed text, its passages in order."""
    return "\n\n".join(p["text"] for p in sg.document(item_id, principals, passages=100_000)["passages"])


def _export(it: dict, text: str | None) -> str:
    """A private temporary copy of a document inside a file, for the desktop to open: a message as .eml (its text
    starts with its From/To/Subject header block), anything else as .txt."""
    import os
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="spyglass-open-"))  # new, private (0700): nobody else can plant a link
    target = folder / f"{it['id']}{'.eml' if it['type'] == 'email' else '.txt'}"  # the id is hex: a safe name
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text or "")
    return str(target)


@activity_app.command("show")
def activity_show(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="Most recent searches and events to list."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Your recent searches and opens, and how much is logged."""

    def body() -> None:
        log = _sg(home).activity()
        user = _who(as_user)
        searches = log.searches(user)[-limit:]
        events = log.events(user)[-limit:]
        if json_:
            print_json({"user": user, "counts": log.counts(user), "searches": searches, "events": events})
            return
        c = log.counts(user)
        out.print(f"{user}: {c['searches']} searches, {c['events']} events logged", markup=False)
        for s in searches:
            out.print(f"  {fmt_time(s['at'])}  search  {s['query']!r}  ({len(s['ids'])} shown)", highlight=False,
                      markup=False)
        for e in events:
            pos = f" (result {e['position']})" if e["position"] else ""
            out.print(f"  {fmt_time(e['at'])}  {e['kind']:<6} {e['item_id']}{pos}", highlight=False, markup=False)

    _run(body)


@activity_app.command("clear")
def activity_clear(
    all_users: bool = typer.Option(False, "--all-users", help="Erase everyone's activity (not only yours)."),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Erase the activity log (yours, or everyone's with --all-users)."""

    def body() -> None:
        n = _sg(home).activity().clear(None if all_users else _who(as_user))
        print_json({"erased": n}) if json_ else out.print(f"erased {n} entries")

    _run(body)


@app.command()
def suggest(
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=100),
    as_user: Optional[str] = AsUserOpt,
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Files you are likely to open next (from your recent opens, what others open together, and what usually
    follows your last one)."""
    from spyglass.app.learning import suggest as suggest_

    def body() -> None:
        sg = _sg(home)
        user = _who(as_user)
        res = suggest_(sg, user, sg.access(as_user), limit)
        if json_:
            print_json({"user": user, "suggestions": res})
            return
        if not res:
            out.print("No suggestions yet: open some results first (spyglass open N).")
        for n, r in enumerate(res, 1):
            out.print(f"{n:>2}. {esc(r['title'])}  [dim]{esc(r['path'])} ({esc(r['why'])})[/dim]", highlight=False)

    _run(body)


@app.command()
def related(
    file: str = typer.Argument(..., help="A path or document id."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=100),
    as_user: Optional[str] = typer.Option(None, "--as-user", help="Only what this user may read."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Files related to FILE: similar content, and opened by the same people."""
    from spyglass.app.learning import related as related_

    def body() -> None:
        sg = _sg(home)
        res = related_(sg, file, sg.access(as_user), limit)
        if json_:
            print_json(res)
            return
        for n, r in enumerate(res["related"], 1):
            sig = ", ".join(f"{k} {v:.2f}" for k, v in r["signals"].items())
            out.print(f"{n:>2}. {esc(r['title'])}  [dim]{esc(r['path'])} ({sig})[/dim]", highlight=False)

    _run(body)


@train_app.command("ranker")
def train_ranker(home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """Train the learned ranker from the activity log (position-bias corrected); later hybrid searches use it as
    their final stage ([rerank] learned)."""
    from spyglass.app.learning import train_ranker as train_

    def body() -> None:
        res = train_(_sg(home))
        if json_:
            print_json(res)
        else:
            out.print(f"trained on {res['queries']} searches ({res['impressions']} results shown, {res['clicks']} "
                      f"opened) -> models/{res['model']}")

    _run(body)
