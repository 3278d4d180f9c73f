"""Fixtures for the attack tests: real Unix users and groups (made with useradd/groupadd, removed afterwards).

Tests that need them run as root (CI does); elsewhere they skip and say why. Names are unique per run
(``sgt`` + random hex), so parallel or interrupted runs never collide with each other or with real accounts.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
import uuid
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class UnixUser:
    name: str
    uid: int
    gid: int  # primary group


@dataclass(frozen=True)
class UnixGroup:
    name: str
    gid: int


def _need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to create real Unix users and groups (useradd/groupadd); CI runs the tests as root")
    for tool in ("useradd", "groupadd", "userdel", "groupdel"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} (Debian package passwd) to create real Unix users and groups")


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


class Accounts:
    """Makes users and groups for one test and removes them at its end."""

    def __init__(self) -> None:
        self.users: list[str] = []
        self.groups: list[str] = []

    @staticmethod
    def _name(prefix: str) -> str:
        return f"sgt{prefix[:6]}{uuid.uuid4().hex[:8]}"

    def group(self, prefix: str = "g") -> UnixGroup:
        name = self._name(prefix)
        _run("groupadd", name)
        self.groups.append(name)
        return UnixGroup(name, grp.getgrnam(name).gr_gid)

    def user(self, prefix: str = "u", groups: tuple[UnixGroup, ...] = ()) -> UnixUser:
        """A user with its own primary group (useradd's default) and the given supplementary groups."""
        name = self._name(prefix)
        cmd = ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group"]
        if groups:
            cmd += ["--groups", ",".join(g.name for g in groups)]
        _run(*cmd, name)
        self.users.append(name)
        self.groups.append(name)  # the user's own group, removed with it (userdel) or below
        pw = pwd.getpwnam(name)
        return UnixUser(name, pw.pw_uid, pw.pw_gid)

    def cleanup(self) -> None:
        for name in reversed(self.users):
            subprocess.run(["userdel", name], capture_output=True, timeout=30)
        for name in reversed(self.groups):
            subprocess.run(["groupdel", name], capture_output=True, timeout=30)


@pytest.fixture
def accounts():
    """Real Unix users and groups for one test: ``accounts.user("alice", groups=(g,))``, ``accounts.group("dev")``."""
    _need_root()
    a = Accounts()
    try:
        yield a
    finally:
        a.cleanup()
