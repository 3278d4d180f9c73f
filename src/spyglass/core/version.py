"""The version of Spyglass (its one home: ``spyglass.__version__`` and every module that records it read it here)."""

__version__ = "0.1.0"
