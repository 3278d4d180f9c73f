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
import time

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


# -- folder modes count: who may reach a file, not only who may read it --------------------------------------------
#
# A person reads a file on Unix when they may search (execute) every folder on its path and read the file, each check
# made with the one class that applies to them: the owner's bits if they own it, else the group's bits if they are in
# its group, else the other bits. So the readers of a file are the intersection over its path:
#
#     readers(file) = R(file) ∩ X(dir_1) ∩ ... ∩ X(dir_n)      (dir_1 = "/", ..., dir_n = the file's folder)
#
# Each step is a Perm: (uid, gid, bits) where bits holds the needed permission (r for the file, x for a folder) for
# owner (4), group (2) and other (1). The result is written back as principals, each kept only when every holder of
# it passes every step: ``everyone`` needs all three classes; ``group:G`` needs the class its members get (and the
# owner's bits when the owner is a member); ``user:U`` needs the class U gets. People who pass only as members of
# several groups at once (e.g. a 0710 folder of group dev holding a 0640 file of group staff) are listed one by one
# as ``user:`` principals, from the system's group database. Unknown uids are held to both the group and the other
# bits (their groups are unknown): default-deny.

OWNER, GROUP, OTHER = 4, 2, 1
Perm = tuple[int, int, int]  # (uid, gid, bits)


def perm(st, need: str) -> Perm:
    """The step a stat result puts on a path: ``need`` is ``"r"`` (the file itself) or ``"x"`` (a folder)."""
    if need == "r":
        masks = (stat.S_IRUSR, stat.S_IRGRP, stat.S_IROTH)
    else:
        masks = (stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
    m = st.st_mode
    bits = (OWNER if m & masks[0] else 0) | (GROUP if m & masks[1] else 0) | (OTHER if m & masks[2] else 0)
    return (st.st_uid, st.st_gid, bits)


_refreshed = [0.0]


def refresh(older_than: float = 0.0) -> None:
    """Forget cached user and group names and memberships (accounts change while a watcher runs); with
    ``older_than``, only when they were read more than that many seconds ago."""
    now = time.monotonic()
    if older_than and now - _refreshed[0] < older_than:
        return
    _refreshed[0] = now
    for f in (_uid_name, _gid_name, _principals, _groupdb, path_principals):
        f.cache_clear()


@functools.lru_cache(maxsize=1)
def _groupdb() -> tuple[dict[int, frozenset[int]], dict[int, frozenset[int]]]:
    """(uids of each gid, gids of each uid) from the system's user and group databases (primary and supplementary)."""
    members: dict[int, set[int]] = {}
    groups: dict[int, set[int]] = {}
    uid_of = {}
    for pw in pwd.getpwall():
        uid_of.setdefault(pw.pw_name, pw.pw_uid)
        members.setdefault(pw.pw_gid, set()).add(pw.pw_uid)
        groups.setdefault(pw.pw_uid, set()).add(pw.pw_gid)
    for g in grp.getgrall():
        for name in g.gr_mem:
            uid = uid_of.get(name)
            if uid is not None:
                members.setdefault(g.gr_gid, set()).add(uid)
                groups.setdefault(uid, set()).add(g.gr_gid)
    return ({k: frozenset(v) for k, v in members.items()}, {k: frozenset(v) for k, v in groups.items()})


def _user_passes(uid: int, p: Perm) -> bool:
    owner, gid, bits = p
    if uid == owner:
        return bool(bits & OWNER)
    gids = _groupdb()[1].get(uid)
    if gids is None:  # no such account: its groups are unknown
        return bits & (GROUP | OTHER) == GROUP | OTHER
    return bool(bits & (GROUP if gid in gids else OTHER))


def _group_passes(g: int, p: Perm) -> bool:
    owner, gid, bits = p
    members = _groupdb()[0].get(g, frozenset())
    need = GROUP if g == gid else OTHER
    if g != gid and members & _groupdb()[0].get(gid, frozenset()):
        need |= GROUP  # some members get the folder's group class instead
    if owner in members:
        need |= OWNER
    return bits & need == need


@functools.lru_cache(maxsize=8192)
def path_principals(steps: frozenset[Perm]) -> tuple[str, ...]:
    """The principals that may read a file, from the steps of its path (:func:`perm` of the file with ``"r"`` and of
    every folder above it with ``"x"``)."""
    if all(b == OWNER | GROUP | OTHER for _, _, b in steps):
        return (EVERYONE,)
    gids = {g for _, g, _ in steps}
    ok_groups = {g for g in gids if all(_group_passes(g, p) for p in steps)}
    uids = {u for u, _, _ in steps}
    members = _groupdb()[0]
    for g in gids - ok_groups:
        uids |= members.get(g, frozenset())
    ok_users = {u for u in uids if all(_user_passes(u, p) for p in steps)}
    return tuple(sorted({user(_uid_name(u)) for u in ok_users} | {group(_gid_name(g)) for g in ok_groups}))


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
