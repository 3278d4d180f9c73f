"""The composition root: :class:`Spyglass` builds stores, pipelines and retrievers from a data directory and its
configuration. The CLI and the server sit on it."""

from spyglass.app.spyglass import Spyglass

__all__ = ["Spyglass"]
