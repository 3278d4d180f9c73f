"""Printing: JSON for machines (``--json``), rich text for people, progress bars on stderr."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from typing import Any, NoReturn

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def closed_pipe_exit(stream: Any = None) -> NoReturn:
    """Leave quietly with status 0 because the reader went away (`spyglass search ... | head`), like a Unix tool.

    The stream's descriptor is pointed at /dev/null first, so flushing it at interpreter exit cannot raise again."""
    fd = (stream or sys.stdout).fileno()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
    raise SystemExit(0)


class _Console(Console):
    """Rich's console, except that a closed pipe ends the command with status 0 (rich's default exits 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        closed_pipe_exit(self.file)


out = _Console(highlight=False, soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)  # a hint stays one line to copy


def esc(value: Any) -> str:
    """``value`` as text that rich prints literally: ``[media]`` in a hint or a file name stays ``[media]``."""
    return escape(str(value))


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str, indent=2) + "\n")
    sys.stdout.flush()


def fmt_time(ts: float | None) -> str:
    if not ts:
        return "—"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def fmt_size(n: float | None) -> str:
    n = float(n or 0)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


class RichProgress:
    """A progress bar with rate and ETA on stderr. When stderr is not a terminal (a log, CI, a pipe), long phases
    print a plain line instead: the first after ``first_after`` seconds, then one every ``every`` seconds, and a last
    one when the phase ends; phases shorter than ``first_after`` print nothing. ``enabled=False``: silent."""

    def __init__(self, enabled: bool | None = None, every: float = 30.0, first_after: float = 5.0) -> None:
        self.enabled = err.is_terminal if enabled is None else enabled
        self.lines = enabled is None and not self.enabled
        self.every, self.first_after = every, first_after
        self._p: Progress | None = None
        self._task: Any = None
        self._phase: dict[str, Any] | None = None

    def start(self, description: str, total: int | None) -> None:
        self.stop()
        if self.lines:
            now = time.monotonic()
            self._phase = {"what": description, "total": total, "done": 0, "t0": now, "next": now + self.first_after,
                           "printed": False}
        if not self.enabled:
            return
        cols = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
        if total is not None:
            cols += [BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                     TextColumn("[dim]{task.fields[detail]}", justify="left")]
        else:
            cols += [TextColumn("{task.completed} files"), TimeElapsedColumn()]
        self._p = Progress(*cols, console=err, transient=True, refresh_per_second=8)
        self._p.start()
        self._task = self._p.add_task(escape(description), total=total, detail="")

    def advance(self, n: int = 1, detail: str | None = None) -> None:
        if self._p is not None:
            self._p.update(self._task, advance=n, detail=escape((detail or "")[:40]))
        ph = self._phase
        if ph is not None:
            ph["done"] += n
            if time.monotonic() >= ph["next"]:
                self._line(ph)

    def stop(self) -> None:
        if self._p is not None:
            self._p.stop()
            self._p = None
        ph, self._phase = self._phase, None
        if ph is not None and ph["printed"]:
            self._line(ph, final=True)

    def _line(self, ph: dict[str, Any], final: bool = False) -> None:
        now = time.monotonic()
        ph["printed"], ph["next"] = True, now + self.every
        took = now - ph["t0"]
        rate = ph["done"] / took if took > 0 else 0.0
        if ph["total"]:
            text = f"{ph['what']}: {ph['done']}/{ph['total']} ({ph['done'] / ph['total']:.0%}), {rate:.1f}/s"
            if not final and rate > 0:
                text += f", about {_duration((ph['total'] - ph['done']) / rate)} left"
        else:
            text = f"{ph['what']}: {ph['done']} so far, {rate:.1f}/s"
        err.print(text + (f", done in {_duration(took)}" if final else ""), markup=False, highlight=False)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
