"""Spyglass: self-hosted universal search and intelligent organization.

Importing this package is cheap: it loads no model runtime and no index. The public entry point is
:class:`spyglass.app.Spyglass`, imported lazily on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spyglass.core.version import __version__

if TYPE_CHECKING:  # pragma: no cover
    from spyglass.app.spyglass import Spyglass

__all__ = ["Spyglass", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Spyglass":
        from spyglass.app.spyglass import Spyglass

        return Spyglass
    raise AttributeError(f"module 'spyglass' has no attribute {name!r}")
