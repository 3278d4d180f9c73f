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


class ForbiddenError(SpyglassError):
    """The caller may see the thing but not do this with it (e.g. download a mailbox holding others' messages)."""


class ConflictError(SpyglassError):
    """The thing to create exists already (a user name, a tag)."""


class BusyError(SpyglassError):
    """The caller has too many requests running or failed too often; ``retry_after`` says when to try again."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DeadlineError(SpyglassError):
    """The work ran past its time limit and was stopped (nothing of it is kept)."""


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
