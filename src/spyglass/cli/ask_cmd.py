"""``spyglass ask`` and ``spyglass summarize``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.text import Text

from spyglass.cli.main import HomeOpt, JsonOpt, _run, _sg, app
from spyglass.cli.output import err, esc, out, print_json


def _highlighted(ans: dict) -> Text:
    """The answer with the answer model's span in bold (the quoted sentence and its citation around it)."""
    text = Text(ans["answer"])
    claim = (ans.get("claims") or [None])[0]
    if ans["found"] and claim and claim.get("span") and ans["answer"].startswith(claim["text"]):
        a, b = claim["span"]
        text.stylize("bold underline", a, b)
    return text


def _print_answer(ans: dict, streamed: bool) -> None:
    if streamed:
        out.print()  # after the draft
        if ans["dropped"] or not ans["found"]:
            out.print("[dim]checked against your files:[/dim]")
        else:
            out.print()
    if not streamed or ans["dropped"] or not ans["found"]:
        out.print(_highlighted(ans))
        out.print()
    if ans["dropped"]:
        out.print(f"[yellow]dropped {len(ans['dropped'])} statement(s) no passage supported:[/yellow] "
                  + esc(" | ".join(ans["dropped"])), markup=True)
    if ans["citations"]:
        out.print("[bold]Sources[/bold]")
        for c in ans["citations"]:
            where = f", page {c['page']}" if c["page"] else (f", {c['label']}" if c["label"] else "")
            out.print(f"  [{c['n']}] {c['title']}{where} — {c['path']}", markup=False)
            out.print(f"      {c['snippet'][:160]}", markup=False, style="dim")


@app.command()
def ask(
    question: Optional[str] = typer.Argument(None, help="The question (omit with --chat to start typing)."),
    chat: bool = typer.Option(False, "--chat", help="Keep asking follow-up questions in one session."),
    as_user: Optional[str] = typer.Option(None, "--as-user", help="Only from what this user may read."),
    backend: Optional[str] = typer.Option(None, "--backend", "-b",
                                          help="extractive, openai or llama-cpp [default: [answer] backend]"),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Answer a question from your files, citing the passages it used as [1], [2], ... (streams when a chat model
    writes it; without one, the best supporting sentences are quoted)."""

    def one(sg, q: str, history: list) -> dict:
        if json_:
            ans = sg.ask(q, as_user=as_user, history=history, backend=backend)
            print_json(ans)
            return ans
        ans = {}
        streamed = False
        for e in sg.ask(q, as_user=as_user, history=history, backend=backend, stream=True):
            if e["type"] == "token":
                streamed = True
                sys.stdout.write(e["text"])
                sys.stdout.flush()
            elif e["type"] == "answer":
                ans = e
        _print_answer(ans, streamed)
        return ans

    def body() -> None:
        sg = _sg(home)
        history: list[tuple[str, str]] = []
        q = question
        if q is None and not chat:
            from spyglass.core.errors import SpyglassError

            raise SpyglassError("ask a question, e.g. spyglass ask \"when does the lease end?\"")
        while True:
            if q is None:
                try:
                    q = input("? ").strip() if sys.stdin.isatty() else sys.stdin.readline().strip()
                except EOFError:
                    return
                if not q:
                    return
            ans = one(sg, q, history)
            history.append((q, ans.get("answer", "")))
            if not chat:
                return
            q = None

    _run(body)


@app.command()
def summarize(
    path: Path = typer.Argument(..., help="An indexed document (its path)."),
    as_user: Optional[str] = typer.Option(None, "--as-user", help="Only if this user may read it."),
    backend: Optional[str] = typer.Option(None, "--backend", "-b", help="extractive, openai or llama-cpp."),
    sentences: int = typer.Option(5, "--sentences", "-s", min=1, max=30, help="Length of the summary."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Summarize a long document: in parts, then combined (extractive without a chat model)."""

    def body() -> None:
        res = _sg(home).summarize(str(path), as_user=as_user, backend=backend, sentences=sentences)
        if json_:
            print_json(res)
            return
        out.print(f"[bold]{esc(res['title'])}[/bold] ({res['parts']} part(s), {esc(res['backend'])})")
        out.print(res["summary"], markup=False)

    _run(body)


del err
