"""How to add an optional extra to *this* installation: the command a hint should print.

A clone set up by ``./quickstart`` or ``scripts/bootstrap.sh`` (an editable install whose checkout holds
``scripts/bootstrap.sh``) adds extras with ``scripts/bootstrap.sh --with EXTRA``: it installs into the checkout's
``.venv`` with the pinned constraints, remembers the extra for later runs, and installs the Debian packages an extra
needs (Tesseract for ``media``) when it can. Anything else (``pip install spyglass``) gets the pip command of the Python
that runs Spyglass.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def checkout() -> Path | None:
    """The source checkout this Spyglass runs from, if it runs from one that has ``scripts/bootstrap.sh``."""
    root = Path(__file__).resolve().parents[3]  # <checkout>/src/spyglass/core/install.py
    if (root / "scripts" / "bootstrap.sh").is_file() and (root / "pyproject.toml").is_file():
        return root
    return None


def pip_command() -> str:
    """``pip`` when the ``pip`` on the PATH belongs to this Python, else this Python's ``-m pip``."""
    found = shutil.which("pip")
    if found and Path(found).resolve().parent == Path(sys.executable).resolve().parent:
        return "pip"
    return f"{shlex.quote(sys.executable)} -m pip"


def install_command(extra: str) -> str:
    """The shell command that installs the optional extra ``extra`` (``server``, ``media``, ...)."""
    root = checkout()
    if root is not None:
        try:
            here = Path(os.getcwd()).resolve()
        except OSError:  # the working directory was deleted
            here = None
        script = "scripts/bootstrap.sh" if here == root else shlex.quote(str(root / "scripts" / "bootstrap.sh"))
        return f"{script} --with {extra}"
    return f"{pip_command()} install 'spyglass[{extra}]'"


def install_no_deps(requirement: str, extra: str) -> str:
    """The command that installs a package whose declared dependencies must not be installed (they would pull torch
    or a CLI): ``scripts/bootstrap.sh`` installs it with ``extra`` in a checkout; elsewhere ``pip --no-deps``."""
    if checkout() is not None:
        return install_command(extra)
    return f"{pip_command()} install --no-deps {requirement}"
