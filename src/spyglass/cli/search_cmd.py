"""``spyglass search``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import typer

from spyglass.cli.main import HomeOpt, JsonOpt, _run, _sg, app
from spyglass.cli.output import err, esc, fmt_time, out, print_json

_B = re.compile(r"</?b>")


@app.command()
def search(
    query: str = typer.Argument(..., help='Words, "phrases", -excluded, prefix*, field:value filters '
                                          "(see docs/query-language.md)."),
    type_: list[str] = typer.Option(None, "--type", "-t", help="Only these types (pdf, docx, email, chat, ...)."),
    folder: list[str] = typer.Option(None, "--folder", "--in", help="Only under this folder."),
    after: Optional[str] = typer.Option(None, "--after", help="Modified on or after (YYYY[-MM[-DD]])."),
    before: Optional[str] = typer.Option(None, "--before", help="Modified before (YYYY[-MM[-DD]])."),
    author: Optional[str] = typer.Option(None, "--author", help="Author or sender contains these words."),
    source: list[str] = typer.Option(None, "--source", help="Only this source (name or folder)."),
    ext: list[str] = typer.Option(None, "--ext", help="Only these file extensions."),
    larger: Optional[str] = typer.Option(None, "--larger", help="Larger than (e.g. 10mb)."),
    smaller: Optional[str] = typer.Option(None, "--smaller", help="Smaller than (e.g. 500kb)."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=1000, help="Results per page."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many results (paging)."),
    as_user: Optional[str] = typer.Option(None, "--as-user", help="Only what this user may read."),
    mode: Optional[str] = typer.Option(None, "--mode", "-m",
                                       help="keyword, semantic or hybrid [default: hybrid once embeddings exist]"),
    fusion: Optional[str] = typer.Option(None, "--fusion", help="Hybrid fusion: normalized or rrf."),
    rerank: Optional[str] = typer.Option(None, "--rerank", help="Second stage: ltr, maxsim, cross-encoder or none."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Search the index. Results are documents, each with its best passage's snippet."""
    from spyglass.app.spyglass import Filters, apply_filter

    def body() -> None:
        f = Filters()
        for t in type_ or []:
            apply_filter(f, "type", t)
        for d in folder or []:
            apply_filter(f, "in", d)
        for e in ext or []:
            apply_filter(f, "ext", e)
        for s in source or []:
            apply_filter(f, "source", s)
        for name, value in (("after", after), ("before", before), ("author", author), ("larger", larger),
                            ("smaller", smaller)):
            if value:
                apply_filter(f, name, value)
        sg = _sg(home)
        import getpass

        res = sg.search(query, limit=limit, offset=offset, filters=f, as_user=as_user, mode=mode, fusion=fusion,
                        rerank=rerank, log_user=as_user or getpass.getuser())
        hint = _image_hint(sg, query, f)
        if json_:
            print_json({
                "search_id": res.search_id,
                "query": res.query,
                "mode": res.mode,
                "total": res.total,
                "took_ms": round(res.took_ms, 2),
                "fuzzy": sorted(res.corrected),
                "results": [
                    {
                        "id": h.id,
                        "path": h.path,
                        "title": h.title,
                        "type": h.type,
                        "score": h.score,
                        "snippet": h.snippet_html,
                        "snippet_text": h.snippet,
                        **({"page": h.page} if h.page else {}),
                        **({"label": h.label} if h.label else {}),
                        "modified": h.modified,
                        "uri": h.uri,
                        **({"in": h.parent_id} if h.parent_id else {}),
                    }
                    for h in res.hits
                ],
                **({"related": [{"id": h.id, "path": h.path, "title": h.title, "type": h.type, "score": h.score}
                                for h in res.related]} if res.related else {}),
                **({"hint": hint} if hint else {}),
            })
            return
        shown = f"{offset + 1}–{offset + len(res.hits)} of " if res.hits else ""
        out.print(f"[bold]{shown}{res.total}[/bold] result{'s' if res.total != 1 else ''} for "
                  f"[cyan]{esc(query)}[/cyan] [dim]({res.mode}, {res.took_ms:.1f} ms)[/dim]")
        if res.corrected:
            out.print(f"[dim]approximate matches for: {esc(', '.join(sorted(res.corrected)))}[/dim]")
        if res.related:
            out.print("[dim]No word of the query occurs in your files. Closest by meaning, not matches:[/dim]")
            for h in res.related:
                out.print(f"  [dim]{esc(h.title)} — {esc(h.path)}[/dim]")
        for n, h in enumerate(res.hits, start=offset + 1):
            where = h.path + (f" › {h.extra['name']}" if h.parent_id else "")
            loc = f" · page {h.page}" if h.page else (f" {h.label}" if h.label and h.label.startswith("@") else "")
            out.print(f"\n[bold]{n:>2}. {esc(h.title)}[/bold]  [dim]{h.type} · {fmt_time(h.modified)}[/dim]")
            out.print(f"    [green]{esc(where)}[/green][dim]{loc}[/dim]")
            if h.snippet_html:
                text = esc(_unescape(_B.sub("\x00", h.snippet_html)))
                parts = text.split("\x00")
                marked = "".join(p if i % 2 == 0 else f"[bold yellow]{p}[/bold yellow]" for i, p in enumerate(parts))
                out.print("    " + " ".join(marked.split()))
        if hint:
            err.print(f"\n[yellow]{esc(hint)}[/yellow]")

    _run(body)


def _image_hint(sg, query: str, filters) -> str | None:
    """What to configure when photos are searched by description without a model that sees them."""
    from spyglass.app.spyglass import parse

    m = sg.config.media
    types = set(filters.types) | set(parse(query).filters.types)
    if "image" not in types or (m.clip_image_model and m.clip_text_model) or m.caption_endpoint:
        return None
    return ("Images are found by their text (OCR) and names only: to find a photo by what it shows, set a text-image "
            "model ([media] clip_image_model and clip_text_model) or a captioning endpoint ([media] caption_endpoint) "
            "in config.toml, then run `spyglass index` (docs/media.md).")


def _unescape(s: str) -> str:
    return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&#x27;", "'").replace("&amp;", "&")
