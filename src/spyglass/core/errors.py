"""Errors. Every error a user can see carries a message that says what to do next."""

from __future__ import annotations


class SpyglassError(Exception):
    """Base class of errors reported to the user (the CLI prints the message, exit code 2)."""


class ConfigError(SpyglassError):
    """The configuration file or an option is invalid."""


class QuerySyntaxError(SpyglassError):
    """A search query could not be parsed."""


class NotFoundError(SpyglassError):
    """A document, user or source does not exist, or the caller may not see it (the two read the same)."""


class IndexLockedError(SpyglassError):
    """Another process is writing to the data directory."""


class IndexFormatError(SpyglassError):
    """The data directory was written by an incompatible version."""


class MissingExtraError(SpyglassError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, feature: str, extra: str, module: str, hint: str | None = None) -> None:
        from spyglass.core.install import install_command

        super().__init__(f"{feature} needs the optional dependency {module!r}: {hint or install_command(extra)}")
        self.feature = feature
        self.extra = extra
        self.module = module


class ExtractionError(Exception):
    """A file could not be read. ``kind`` is a short stable code, the message is for people.

    Kinds: ``corrupt``, ``encrypted``, ``too-large``, ``archive-bomb``, ``empty``, ``binary``,
    ``permission``, ``broken-link``, ``timeout``, ``memory``, ``unsupported``, ``io``.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
