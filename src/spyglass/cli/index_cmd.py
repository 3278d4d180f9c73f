"""``spyglass index``, ``spyglass watch``, ``spyglass remove`` (``spyglass sources``: sources_cmd)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from spyglass.cli.main import HomeOpt, JsonOpt, _run, _sg, app
from spyglass.cli.output import err, esc, fmt_size, fmt_time, print_json


def _summary(stats) -> str:
    d = stats.as_dict() if hasattr(stats, "as_dict") else stats
    parts = [f"{d['added']} added", f"{d['updated']} updated", f"{d['moved']} moved", f"{d['deleted']} deleted",
             f"{d['unchanged']} unchanged"]
    if d["failed"]:
        parts.append(f"[yellow]{d['failed']} failed[/yellow] (see `spyglass status`)")
    return ", ".join(parts)


@app.command()
def index(
    paths: list[str] = typer.Argument(None, help="Folders, mailboxes (.mbox/.eml) or chat exports (Slack .zip or "
                                                 "folder). Without paths: re-index every known source."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Retry files that failed before."),
    wait: bool = typer.Option(False, "--wait", help="Also make every vector before returning (else a background "
                                                    "process makes them, best first; see `spyglass status`)."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Index files, mail and chat exports. A re-run only reads what changed. Returns once keyword search works;
    semantic search follows in the background ([embedding] background)."""
    from spyglass.cli.output import RichProgress

    def body() -> None:
        sg = _sg(home)
        progress = RichProgress(enabled=None)
        stats = sg.index(paths or None, progress=progress, retry_failed=retry_failed,
                         wait=wait or not sg.config.embedding.background)
        if json_:
            print_json({"home": str(sg.home), **stats.as_dict()})
            return
        rate = stats.scanned / stats.seconds if stats.seconds else 0
        err.print(f"Indexed in {stats.seconds:.1f} s ({rate:.0f} files/s): {_summary(stats)}. "
                  f"{stats.passages} passages, {fmt_size(stats.bytes)} read.")
        sem = stats.semantic
        if sem.get("unavailable"):
            err.print(f"[yellow]Semantic search unavailable:[/yellow] {esc(sem['unavailable'])}")
        elif sem.get("background"):
            bg = sem["background"]
            err.print(f"Keyword search is ready. Semantic search is being built in the background "
                      f"({bg['pending_passages']} passages to embed, best first): `spyglass status` shows how far.")
        elif sem.get("passages"):
            err.print(f"Embedded {sem['passages']} passages in {sem['seconds']:.0f} s "
                      f"({sem['passages_per_s']:.1f}/s).")
        img = stats.images
        if img.get("unavailable"):
            err.print(f"[yellow]Photo search by description unavailable:[/yellow] {esc(img['unavailable'])}")
        elif img.get("images"):
            err.print(f"Embedded {img['images']} images in {img['seconds']:.0f} s ({img['images_per_s']:.1f}/s).")

    _run(body)


@app.command()
def watch(
    paths: list[str] = typer.Argument(None, help="Folders to watch (default: every known source)."),
    polling: bool = typer.Option(False, "--polling", help="Poll instead of using file-system events "
                                                         "(network drives)."),
    home: Optional[Path] = HomeOpt,
    json_: bool = typer.Option(False, "--json", help="Print one JSON line per applied change batch."),
) -> None:
    """Keep the index live: created, changed, moved and deleted files show up in search within seconds."""
    import json
    import time

    def body() -> None:
        sg = _sg(home)

        def changed(stats) -> None:
            d = stats.as_dict()
            if json_:
                print(json.dumps({"time": time.time(), **d}), flush=True)
            elif any(d[k] for k in ("added", "updated", "moved", "deleted", "failed")):
                err.print(f"[dim]{fmt_time(time.time())}[/dim] {_summary(d)}")

        if not json_:
            err.print("Watching for changes — Ctrl-C to stop.")
        sg.watch(paths or None, on_change=changed, polling=polling)

    _run(body)


@app.command()
def remove(
    path: str = typer.Argument(..., help="The source's folder or file, as listed by `spyglass sources`."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Remove a source and everything indexed from it (your files are not touched)."""

    def body() -> None:
        n = _sg(home).remove_source(path)
        if json_:
            print_json({"removed": path, "items": n})
        else:
            err.print(f"Removed {path}: {n} items dropped from the index.", markup=False)

    _run(body)
