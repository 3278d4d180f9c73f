"""``spyglass serve``, ``spyglass mcp``, ``spyglass users ...`` and ``spyglass tokens ...``."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Optional

import typer

from spyglass.cli.main import HomeOpt, JsonOpt, _run, _sg, app
from spyglass.cli.output import err, fmt_time, out, print_json
from spyglass.core.errors import MissingExtraError, SpyglassError

users_app = typer.Typer(help="Users of the team server: roles, groups, passwords.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (for scripts, MCP clients and the REST API).", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


def _server(module: str, attr: str, *needs: str):
    """``spyglass.server.<module>.<attr>``, or the server extra's install hint when its libraries (those the module
    imports, and ``needs``, which it imports later) are missing."""
    import importlib

    try:
        for lib in needs:
            importlib.import_module(lib)
        return getattr(importlib.import_module(f"spyglass.server.{module}"), attr)
    except ImportError as exc:
        if (exc.name or "").startswith("spyglass"):
            raise
        raise MissingExtraError("the team server", "server", exc.name or "fastapi") from exc


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on [default: [server] host, 127.0.0.1]"),
    port: Optional[int] = typer.Option(None, "--port", "-p", min=1, max=65535,
                                       help="Port [default: [server] port, 8080]"),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, max=64,
                                          help="Server processes [default: [server] workers, 1]"),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Run the team server: REST API (/api, OpenAPI at /api/openapi.json), web app (/) and MCP (/mcp)."""

    def body() -> None:
        run = _server("app", "serve", "uvicorn")
        sg = _sg(home)
        s = sg.config.server
        url = f"http://{host or s.host}:{port or s.port}"
        if not sg.accounts.users():
            err.print("[yellow]no users yet: add one with `spyglass users add NAME --admin`[/yellow]", markup=True)
        if json_:
            print_json({"url": url, "openapi": url + "/api/openapi.json", "mcp": url + "/mcp"})
        else:
            out.print(f"Spyglass at {url}  (API docs {url}/api/docs, MCP {url}/mcp)")
        run(sg.home, host=host, port=port, workers=workers)

    _run(body)


@app.command()
def mcp(
    as_user: Optional[str] = typer.Option(None, "--as-user", help="Only what this user may read (recommended)."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Run an MCP server on stdio (search, fetch_document, ask) for a local AI assistant. --json is accepted for
    symmetry; MCP speaks JSON-RPC on stdout either way."""

    def body() -> None:
        import contextlib

        build_mcp = _server("mcp", "build_mcp")
        sg = _sg(home)
        principals = sg.access(as_user)

        @contextlib.contextmanager
        def read():
            yield sg

        build_mcp(read, lambda ctx: principals).run("stdio")

    _run(body)


# -- users ------------------------------------------------------------------------------------------------------
def _password(given: Optional[str], ask: bool, from_stdin: bool = False) -> Optional[str]:
    """The password from --password, --password-stdin, $SPYGLASS_PASSWORD, or asked twice on a terminal."""
    import sys

    if given:
        return given
    if from_stdin:
        pw = sys.stdin.readline().rstrip("\r\n")
        if not pw:
            raise SpyglassError("--password-stdin read no password: pipe one in, e.g. "
                                "printf '%s\\n' \"$PW\" | spyglass users add NAME --password-stdin")
        return pw
    env = os.environ.get("SPYGLASS_PASSWORD")
    if env:
        return env
    if not ask:
        return None
    if not sys.stdin.isatty():
        raise SpyglassError("no terminal to ask for a password: use --password-stdin (reads one line), "
                            "$SPYGLASS_PASSWORD, or --no-login for API tokens only")
    pw = getpass.getpass("Password (8+ characters): ")
    if pw != getpass.getpass("Again: "):
        raise SpyglassError("the passwords differ")
    return pw


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="User name (lower-case letters, digits, . _ -)."),
    admin: bool = typer.Option(False, "--admin", help="Make an admin (manages users, sources, re-index)."),
    group: list[str] = typer.Option(None, "--group", "-g", help="A group (repeatable): documents shared with "
                                                               "group:NAME become readable."),
    email: list[str] = typer.Option(None, "--email", help="A mail address (repeatable): mail to or from it "
                                                         "becomes readable."),
    password: Optional[str] = typer.Option(None, "--password", help="Password for the web app [default: asked, or "
                                                                   "$SPYGLASS_PASSWORD]; --no-login for none."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from the first line of "
                                                                        "standard input (scripts, no terminal)."),
    no_login: bool = typer.Option(False, "--no-login", help="No password: API tokens only."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Add a user."""

    def body() -> None:
        pw = None if no_login else _password(password, ask=not json_, from_stdin=password_stdin)
        if pw is not None and len(pw) < 8:
            raise SpyglassError("a password needs 8 characters or more")
        u = _sg(home).accounts.add_user(name, "admin" if admin else "member", pw, group or [], email or [])
        print_json(u.as_dict()) if json_ else out.print(f"added {u.name} ({u.role})", markup=False)

    _run(body)


@users_app.command("list")
def users_list(home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """List users."""

    def body() -> None:
        users = _sg(home).accounts.users()
        if json_:
            print_json({"users": [u.as_dict() | {"password": u.has_password} for u in users]})
            return
        for u in users:
            out.print(f"{u.name:<20} {u.role:<7} groups={','.join(u.groups) or '-'} "
                      f"emails={','.join(u.emails) or '-'}{'' if u.has_password else '  (no login)'}", markup=False)

    _run(body)


@users_app.command("set")
def users_set(
    name: str = typer.Argument(...),
    role: Optional[str] = typer.Option(None, "--role", help="admin or member."),
    group: list[str] = typer.Option(None, "--group", "-g", help="Replace the groups (repeatable)."),
    email: list[str] = typer.Option(None, "--email", help="Replace the mail addresses (repeatable)."),
    password: bool = typer.Option(False, "--password", help="Set a new password (asked; ends their sessions)."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Set a new password read from the first line "
                                                                        "of standard input."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Change a user's role, groups, addresses or password."""

    def body() -> None:
        pw = _password(None, ask=True, from_stdin=password_stdin) if password or password_stdin else None
        u = _sg(home).accounts.update_user(name, role, group or None, email or None, pw)
        print_json(u.as_dict()) if json_ else out.print(f"updated {u.name}")

    _run(body)


@users_app.command("remove")
def users_remove(name: str = typer.Argument(...), home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """Remove a user with their tokens and sessions."""

    def body() -> None:
        from spyglass.core.errors import NotFoundError

        if not _sg(home).accounts.remove_user(name):
            raise NotFoundError(f"no user {name!r}")
        print_json({"removed": name}) if json_ else out.print(f"removed {name}")

    _run(body)


# -- tokens -----------------------------------------------------------------------------------------------------
@tokens_app.command("create")
def tokens_create(
    user: str = typer.Argument(..., help="Whose token."),
    label: str = typer.Option("", "--label", help="What it is for."),
    home: Optional[Path] = HomeOpt,
    json_: bool = JsonOpt,
) -> None:
    """Create an API token (printed once; only its hash is kept)."""

    def body() -> None:
        tok = _sg(home).accounts.create_token(user, label)
        print_json({"user": user, "token": tok}) if json_ else out.print(tok)

    _run(body)


@tokens_app.command("list")
def tokens_list(user: Optional[str] = typer.Argument(None), home: Optional[Path] = HomeOpt,
                json_: bool = JsonOpt) -> None:
    """List tokens (ids, not the secrets)."""

    def body() -> None:
        toks = _sg(home).accounts.tokens(user)
        if json_:
            print_json({"tokens": toks})
            return
        for t in toks:
            out.print(f"{t['id']}  {t['user']:<16} {t['label'] or '-':<20} created {fmt_time(t['created'])}, "
                      f"last used {fmt_time(t['last_used'])}", markup=False)

    _run(body)


@tokens_app.command("revoke")
def tokens_revoke(token_id: str = typer.Argument(..., help="The id shown by `spyglass tokens list`."),
                  home: Optional[Path] = HomeOpt, json_: bool = JsonOpt) -> None:
    """Revoke a token."""

    def body() -> None:
        from spyglass.core.errors import NotFoundError

        if not _sg(home).accounts.revoke_token(token_id):
            raise NotFoundError(f"no token {token_id!r}")
        print_json({"revoked": token_id}) if json_ else out.print(f"revoked {token_id}")

    _run(body)
