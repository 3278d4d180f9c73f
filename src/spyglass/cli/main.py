"""``spyglass``: index folders, mail and chat exports, and search them."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from spyglass.core.config import ENV_HOME

app = typer.Typer(
    name="spyglass",
    help="Universal search over your files, mail and chat exports — self-hosted, offline.",
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


def _sg(home: Optional[Path]):
    from spyglass.app.spyglass import Spyglass

    return Spyglass(home)


def _fail(exc: Exception) -> None:
    from spyglass.cli.output import err

    err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
    raise typer.Exit(2)


def _run(fn):
    """Run a command body, turning Spyglass errors into a message and exit code 2."""
    from spyglass.core.errors import SpyglassError

    try:
        return fn()
    except SpyglassError as exc:
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
    status_cmd,
    train_cmd,
)

del ask_cmd, eval_cmd, index_cmd, learning_cmd, organize_cmd, search_cmd, server_cmd, status_cmd, train_cmd


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `spyglass search ... | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main()
