"""``spyglass status`` and ``spyglass version``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from spyglass.cli.main import HomeOpt, JsonOpt, _run, _sg, app
from spyglass.cli.output import fmt_size, fmt_time, out, print_json


@app.command()
def status(
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
    all_failures: bool = typer.Option(False, "--all", help="List every failure, not the first 20."),
) -> None:
    """What is indexed: counts per type, failures with their reasons, index size, the last run."""

    def body() -> None:
        st = _sg(home).status()
        if json_:
            print_json(st)
            return
        bs = st["by_status"]
        out.print(f"[bold]{st['home']}[/bold]")
        if not st.get("private", {}).get("ok", True):
            out.print(f"[red]Warning:[/red] {st['private']['hint']}", markup=True, highlight=False)
        out.print(f"{st['documents']} documents ({bs.get('ok', 0)} with text, {bs.get('metadata', 0)} by name only, "
                  f"{bs.get('error', 0)} failed), {st['passages']} passages, "
                  f"index {fmt_size(st['size_bytes']['total'])}")
        if st["pending_lexical"]:
            out.print(f"[yellow]{st['pending_lexical']} documents not yet in the keyword index "
                      "(run `spyglass index` to finish)[/yellow]")
        sem = st["semantic"]
        if sem["model"]:
            out.print(f"Semantic search: {sem['coverage']:.0%} of passages embedded ({sem['embedded_passages']}) "
                      f"with {sem['model']}" + (f", {sem['pending_passages']} pending (run `spyglass index`)"
                                                if sem["pending_passages"] else ""))
        else:
            out.print("Semantic search: no embeddings yet (keyword search only)")
        media = st.get("media", {})
        if media.get("images_embedded") is not None:
            out.print(f"Photo search by description: {media['images_embedded']} of {media['images']} images "
                      f"embedded with {media['image_model']}")
        for key in ("hint", "caption_hint"):
            if media.get(key):
                out.print(f"[yellow]{media[key]}[/yellow]")
        out.print("\n[bold]By type[/bold]")
        for typ, counts in st["by_type"].items():
            total = sum(counts.values())
            extra = f"  [yellow]{counts['error']} failed[/yellow]" if counts.get("error") else ""
            out.print(f"  {typ:<12} {total:>7}{extra}")
        out.print("\n[bold]Sources[/bold]")
        for s in st["sources"]:
            out.print(f"  {s['kind']:<7} {s['items']:>7} items  {s['root']}  [dim](indexed {fmt_time(s['last_indexed'])})[/dim]")
        lr = st["last_run"]
        if lr:
            d = lr["stats"]
            out.print(f"\n[bold]Last run[/bold] {fmt_time(lr['finished'])}: {d.get('added', 0)} added, "
                      f"{d.get('updated', 0)} updated, {d.get('moved', 0)} moved, {d.get('deleted', 0)} deleted, "
                      f"{d.get('failed', 0)} failed in {d.get('seconds', 0):.1f} s")
        if st["failures"]:
            out.print(f"\n[bold]Failures[/bold] ({', '.join(f'{k}: {n}' for k, n in st['failure_reasons'].items())})")
            shown = st["failures"] if all_failures else st["failures"][:20]
            for f in shown:
                where = f["path"] + (f" › {f['name']}" if f["in"] else "")
                out.print(f"  [yellow]{f['kind']:<12}[/yellow] {where}\n               [dim]{f['reason']}[/dim]")
            if len(st["failures"]) > len(shown):
                out.print(f"  … {len(st['failures']) - len(shown)} more (--all)")

    _run(body)


@app.command()
def version(json_: bool = JsonOpt) -> None:
    """Print the version."""
    from spyglass import __version__

    if json_:
        print_json({"version": __version__})
    else:
        out.print(f"spyglass {__version__}")
