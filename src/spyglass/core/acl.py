"""Access-control principals.

A document carries the principals that may read it; a caller carries the principals they hold. A document is
visible when the two sets meet. Principals are strings with a kind prefix:

- ``everyone``              anyone allowed on this install (world-readable files)
- ``user:NAME``             a POSIX user or a Spyglass user
- ``group:NAME``            a POSIX or Spyglass group
- ``email:ADDRESS``         a mail address (senders and recipients), lower-cased
- ``slack:USERID``          a chat-export member id

Every reader takes the caller's principals explicitly: a list (possibly empty: sees nothing), or
:data:`EVERYTHING`, the one value that lifts the restriction (the index owner at the command line, maintenance
jobs). ``None`` is refused everywhere (:func:`require`), so a missing value can never read as "no restriction".
"""

from __future__ import annotations

import functools
import grp
import pwd
import stat
from collections.abc import Sequence
from typing import Union

EVERYONE = "everyone"


class Everything:
    """The type of :data:`EVERYTHING`: the caller may read every document."""

    _instance: "Everything | None" = None

    def __new__(cls) -> "Everything":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "EVERYTHING"

    def __reduce__(self) -> str:
        return "EVERYTHING"


EVERYTHING = Everything()
Principals = Union[Sequence[str], Everything]


def require(principals: object) -> "tuple[str, ...] | Everything":
    """The caller's principals, checked: :data:`EVERYTHING` or a tuple of principal strings (empty: sees nothing).
    ``None`` or a bare string is a programming error, refused rather than read as "no restriction"."""
    if isinstance(principals, Everything):
        return principals
    if principals is None or isinstance(principals, (str, bytes)):
        raise TypeError(f"principals must be a list of principals or acl.EVERYTHING, not {principals!r}")
    return tuple(str(p) for p in principals)


def sees_everything(principals: object) -> bool:
    return isinstance(require(principals), Everything)


def user(name: str) -> str:
    return f"user:{name}"


def group(name: str) -> str:
    return f"group:{name}"


def email(address: str) -> str:
    return f"email:{address.strip().lower()}"


@functools.lru_cache(maxsize=4096)
def _uid_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


@functools.lru_cache(maxsize=4096)
def _gid_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def posix_owner(st) -> str:
    return _uid_name(st.st_uid)


def posix_principals(st) -> tuple[str, ...]:
    """Who may read a file, from its owner, group and mode bits (one shared tuple per owner/group/mode)."""
    return _principals(st.st_uid, st.st_gid, st.st_mode & (stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH))


@functools.lru_cache(maxsize=4096)
def _principals(uid: int, gid: int, mode: int) -> tuple[str, ...]:
    out: list[str] = []
    if mode & stat.S_IRUSR:
        out.append(user(_uid_name(uid)))
    if mode & stat.S_IRGRP:
        out.append(group(_gid_name(gid)))
    if mode & stat.S_IROTH:
        out.append(EVERYONE)
    return tuple(out)


def os_user_principals(name: str) -> list[str]:
    """Principals an OS user holds: the user, their primary and supplementary groups."""
    out = [user(name)]
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return out
    out.append(group(_gid_name(pw.pw_gid)))
    for g in grp.getgrall():
        if name in g.gr_mem:
            out.append(group(g.gr_name))
    return out
