"""``spyglass status`` and ``spyglass version``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from spyglass.cli.main import HomeOpt, JsonOpt, _run, _sg, app
from spyglass.cli.output import esc, fmt_size, fmt_time, out, print_json


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
        out.print(f"[bold]{esc(st['home'])}[/bold]")
        out.print(f"{st['documents']} documents ({bs.get('ok', 0)} with text, {bs.get('metadata', 0)} by name only, "
                  f"{bs.get('error', 0)} failed), {st['passages']} passages, "
                  f"index {fmt_size(st['size_bytes']['total'])}")
        if st["pending_lexical"]:
            out.print(f"[yellow]{st['pending_lexical']} documents not yet in the keyword index "
                      "(run `spyglass index` to finish)[/yellow]")
        _semantic_line(st["semantic"])
        media = st.get("media", {})
        if media.get("images_embedded") is not None:
            out.print(f"Photo search by description: {media['images_embedded']} of {media['images']} images "
                      f"embedded with {esc(media['image_model'])}")
        for key in ("hint", "caption_hint", "asr_hint"):
            if media.get(key):
                out.print(f"[yellow]{esc(media[key])}[/yellow]")
        out.print("\n[bold]By type[/bold]")
        for typ, counts in st["by_type"].items():
            total = sum(counts.values())
            extra = f"  [yellow]{counts['error']} failed[/yellow]" if counts.get("error") else ""
            out.print(f"  {typ:<12} {total:>7}{extra}")
        out.print("\n[bold]Sources[/bold]")
        for s in st["sources"]:
            out.print(f"  {s['kind']:<7} {s['items']:>7} items  {esc(s['root'])}  "
                      f"[dim](indexed {fmt_time(s['last_indexed'])})[/dim]")
            if s.get("state") == "failing":  # a connector whose server is down: what is indexed stays
                out.print(f"          [red]failing[/red] (last try {fmt_time(s['last_sync'])}): {esc(s['last_error'] or '')}")
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
                out.print(f"  [yellow]{esc(f['kind']):<12}[/yellow] {esc(where)}\n               [dim]{esc(f['reason'])}[/dim]")
            if len(st["failures"]) > len(shown):
                out.print(f"  … {len(st['failures']) - len(shown)} more (--all)")

    _run(body)


@app.command()
def version(json_: bool = JsonOpt) -> None:
    """Print the version."""
    from spyglass.core.version import __version__

    if json_:
        print_json({"version": __version__})
    else:
        out.print(f"spyglass {__version__}")


def _semantic_line(sem: dict) -> None:
    bg = sem.get("background") or {}
    if not sem["model"] and not bg.get("running"):
        out.print("Semantic search: no embeddings yet (keyword search only)")
        return
    line = (f"Semantic search: {sem['coverage']:.0%} of passages embedded ({sem['embedded_passages']}), "
            f"{sem['document_coverage']:.0%} of documents have a vector")
    if bg.get("running"):
        rate, eta = bg.get("passages_per_s"), bg.get("eta_s")
        line += f"; embedding in the background, {sem['pending_passages']} to go" + (
            f" at {rate:.1f}/s (about {fmt_duration(eta)} left)" if rate and eta is not None else "")
    elif sem["pending_passages"]:
        line += f"; {sem['pending_passages']} pending — run `spyglass index` to resume"
    out.print(line)


def fmt_duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600} h {seconds % 3600 // 60} min" if seconds >= 3600 else \
        f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
