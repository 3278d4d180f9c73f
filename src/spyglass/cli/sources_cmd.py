"""``spyglass sources``: list, add, remove and sync sources — folders and exports, and live connectors (IMAP,
CalDAV/CardDAV, WebDAV, git). docs/sources.md lists the kinds."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from spyglass.cli.main import HomeOpt, JsonOpt, _run, _sg, app
from spyglass.cli.output import err, fmt_time, out, print_json

sources_app = typer.Typer(help="Sources: folders, exports and live connectors (IMAP, CalDAV/CardDAV, WebDAV, git). "
                               "Without a sub-command: the list.", invoke_without_command=True)
app.add_typer(sources_app, name="sources")


def _print_list(rows: list[dict]) -> None:
    for s in rows:
        line = f"{s['id']:>3}  {s['kind']:<11} {s['items']:>7} items  {s['name']:<24} "
        if s.get("connector"):
            state = s["state"]
            colour = {"ok": "green", "failing": "red"}.get(state, "yellow")
            line += f"[{colour}]{state}[/{colour}] synced {fmt_time(s['last_sync'])} every {s['interval_s']:g} s"
            if s.get("last_error"):
                line += f"\n       [dim]{s['last_error']}[/dim]"
        else:
            line += f"indexed {fmt_time(s['last_indexed'])}  {s['root']}"
        out.print(line, highlight=False)


@sources_app.callback()
def sources_main(ctx: typer.Context, home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """List the sources (the same as `spyglass sources list`)."""
    if ctx.invoked_subcommand is None:
        list_(home, json_)


@sources_app.command("list")
def list_(home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """Every source with its item count; connectors also with their state, last sync and last error."""
    from spyglass.app.connectors import list_sources

    def body() -> None:
        rows = list_sources(_sg(home))
        if json_:
            print_json({"sources": rows})
        else:
            _print_list(rows)

    _run(body)


@sources_app.command("add")
def add(
    kind: str = typer.Argument(..., help="imap, caldav, carddav, webdav, git, takeout, maildir, thunderbird, notion, "
                                         "confluence, obsidian, discord, mattermost, firefox, chromium"),
    location: str = typer.Argument(..., help="A URL (imap://host:143, http://host/dav/alice/, git://host/repo) or "
                                             "a local path (repository, export folder or file)."),
    name: Optional[str] = typer.Option(None, "--name", help="A short name [default: KIND:LAST-PART]."),
    user: Optional[str] = typer.Option(None, "--user", help="Login for the server."),
    password_env: Optional[str] = typer.Option(None, "--password-env",
                                               help="Environment variable holding the password (never stored)."),
    password_file: Optional[str] = typer.Option(None, "--password-file",
                                                help="File holding the password, e.g. mode 600 (never copied)."),
    owner: Optional[str] = typer.Option(None, "--owner", help="Principal that reads every item [default: "
                                                              "user:<you>]. Unknown readers: the owner alone."),
    reader: list[str] = typer.Option([], "--reader", help="Extra principal granted on the whole source, e.g. "
                                                          "group:team (repeatable)."),
    interval: float = typer.Option(300.0, "--interval", help="Seconds between syncs in `watch` and the server."),
    option: list[str] = typer.Option([], "--option", "-o", help="KEY=VALUE connector setting (docs/sources.md), "
                                                                "repeatable."),
    sync_now: bool = typer.Option(True, "--sync/--no-sync", help="Sync it now."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Add a source and (by default) sync it now."""
    from spyglass.app.connectors import add_source, sync
    from spyglass.core.errors import SpyglassError

    def body() -> None:
        settings: dict = {}
        for o in option:
            k, sep, v = o.partition("=")
            if not sep or not k.strip():
                raise SpyglassError(f"--option {o!r}: use KEY=VALUE")
            settings[k.strip()] = v
        for k, v in (("user", user), ("password_env", password_env), ("password_file", password_file)):
            if v:
                settings[k] = v
        sg = _sg(home)
        added = add_source(sg, kind, location, name, settings, owner, reader, interval)
        result = {"added": added}
        if sync_now:
            stats = sync(sg, [str(added["id"])])
            result["sync"] = {k: v.as_dict() for k, v in stats.items()}
        if json_:
            print_json(result)
            return
        err.print(f"Added {kind} source {added['name']!r} (id {added['id']}), readable by {added['owner']}"
                  + (f" and {', '.join(added['readers'])}" if added["readers"] else ""))
        for nm, d in result.get("sync", {}).items():
            _say(nm, d)

    _run(body)


def _say(name: str, d: dict) -> None:
    if d["errors"].get("source-failing"):
        err.print(f"[red]{name}: failing[/red] (see `spyglass sources list`)")
        return
    err.print(f"{name}: {d['added']} added, {d['updated']} updated, {d['deleted']} deleted, {d['unchanged']} "
              f"unchanged, {d['failed']} failed in {d['seconds']:.1f} s")


@sources_app.command("remove")
def remove(
    source: str = typer.Argument(..., help="The source's id, name or location (see `spyglass sources list`)."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Remove a source and everything indexed from it (nothing on the server or on disk is touched)."""
    from spyglass.app.connectors import remove_source

    def body() -> None:
        r = remove_source(_sg(home), source)
        if json_:
            print_json({"removed": r})
        else:
            err.print(f"Removed {r['name']}: {r['items']} items dropped from the index.")

    _run(body)


@sources_app.command("sync")
def sync_cmd(
    source: list[str] = typer.Argument(None, help="Sources to sync (id or name) [default: every connector]."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Sync connector sources now: only what changed is fetched; vanished items are removed."""
    from spyglass.app.connectors import sync

    def body() -> None:
        stats = sync(_sg(home), source or None)
        if json_:
            print_json({"sync": {k: v.as_dict() for k, v in stats.items()}})
            return
        for nm, st in stats.items():
            _say(nm, st.as_dict())

    _run(body)
