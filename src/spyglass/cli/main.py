"""``spyglass``: index folders, mail and chat exports, and search them."""

from __future__ import annotations

import inspect
import os
import re
import sys
from pathlib import Path
from typing import Optional

import typer

from spyglass.core.config import ENV_HOME

app = typer.Typer(
    name="spyglass",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

HomeOpt = typer.Option(
    None, "--home", envvar=ENV_HOME, help="Data directory [default: $SPYGLASS_HOME or ~/.local/share/spyglass]",
    show_default=False,
)
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of text.")


@app.callback()
def _global_options(
    ctx: typer.Context,
    home: Optional[Path] = typer.Option(None, "--home", help="Data directory for the command that follows "
                                                             "[default: $SPYGLASS_HOME or ~/.local/share/spyglass]",
                                        show_default=False),
    json_: bool = typer.Option(False, "--json", help="Print one JSON object instead of text (for the command that "
                                                    "follows)."),
) -> None:
    """Universal search over your files, mail and chat exports — self-hosted, offline.

    Options before the command apply to it, git-style: `spyglass --home DIR --json status` is
    `spyglass status --home DIR --json` (an option given after the command wins)."""
    if home is not None:  # the commands read --home, else $SPYGLASS_HOME: hand the value down through the latter
        os.environ[ENV_HOME] = str(home)
    if json_:
        ctx.default_map = _json_defaults(ctx.command)


def _json_defaults(group) -> dict:
    """click's default_map that turns ``--json`` on for every command below ``group`` that has it."""
    tree: dict = {}
    for name, cmd in getattr(group, "commands", {}).items():
        if hasattr(cmd, "commands"):
            tree[name] = _json_defaults(cmd)
        elif any(p.name == "json_" for p in cmd.params):
            tree[name] = {"json_": True}
    return tree


def _sg(home: Optional[Path]):
    from spyglass.app.spyglass import Spyglass

    return Spyglass(home)


def _fail(exc: Exception) -> None:
    from spyglass.cli.output import err, esc

    err.print(f"[red]error:[/red] {esc(exc)}", markup=True, highlight=False)
    raise typer.Exit(2)


def _run(fn):
    """Run a command body, turning Spyglass errors (and a missing or unreadable file) into a message and exit
    code 2."""
    from spyglass.core.errors import SpyglassError

    try:
        return fn()
    except (SpyglassError, FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        _fail(exc)
    except KeyboardInterrupt:
        raise typer.Exit(130)


from spyglass.cli import (  # noqa: E402  (they register on `app`)
    ask_cmd,
    eval_cmd,
    index_cmd,
    learning_cmd,
    organize_cmd,
    search_cmd,
    server_cmd,
    sources_cmd,
    status_cmd,
    train_cmd,
)

del ask_cmd, eval_cmd, index_cmd, learning_cmd, organize_cmd, search_cmd, server_cmd, sources_cmd, status_cmd, train_cmd


def _literal(text):
    """Help text as rich prints it literally: ``[default: [server] host]`` keeps its brackets, and the lines of a
    paragraph are joined (rich would keep a docstring's line breaks). Idempotent."""
    if not isinstance(text, str):
        return text
    return re.sub(r"(?<!\\)\[", r"\\[", re.sub(r"(?<!\n)\n(?!\n)", " ", text))


def _escape_help(t: typer.Typer) -> None:
    """Escape the brackets of every help text below ``t`` (commands, groups, options, arguments): typer renders help
    as rich markup, which would eat ``[default: ...]``, ``[media]`` and the like."""
    callbacks = [c.callback for c in t.registered_commands]
    for c in t.registered_commands:
        c.help = _literal(c.help if c.help is not None else inspect.getdoc(c.callback))
    for info in [t.info, t.registered_callback, *t.registered_groups]:
        if info is None:
            continue
        cb = info.callback if callable(info.callback) else None
        if isinstance(info.help, str):
            info.help = _literal(info.help)
        elif cb and inspect.getdoc(cb):
            info.help = _literal(inspect.getdoc(cb))
        callbacks.append(cb)
    for g in t.registered_groups:
        _escape_help(g.typer_instance)
    for cb in filter(None, callbacks):
        for p in inspect.signature(cb).parameters.values():
            if isinstance(getattr(p.default, "help", None), str):
                p.default.help = _literal(p.default.help)


_escape_help(app)


def main() -> None:
    from spyglass.cli.output import closed_pipe_exit

    stdout_was_devnull = _is_devnull(sys.stdout)
    os.umask(0o077)  # everything Spyglass writes (data directory, models, plans, accounts) is the user's alone
    try:
        app()
    except BrokenPipeError:  # `spyglass search ... | head`: the reader has what it wanted
        closed_pipe_exit()
    except SystemExit as exc:
        if exc.code not in (0, None) and _pipe_closed(stdout_was_devnull):
            raise SystemExit(0) from None
        raise


def _pipe_closed(stdout_was_devnull: bool) -> bool:
    """Whether an exit was click's or rich's answer to a closed stdout (both exit 1): click wraps sys.stdout in its
    PacifyFlushWrapper, rich points the descriptor at /dev/null."""
    return type(sys.stdout).__name__ == "PacifyFlushWrapper" or (not stdout_was_devnull and _is_devnull(sys.stdout))


def _is_devnull(stream) -> bool:
    try:
        st, null = os.fstat(stream.fileno()), os.stat(os.devnull)
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (null.st_dev, null.st_ino)


if __name__ == "__main__":
    main()
