"""git repositories: the files at HEAD, each with the last commit that touched it, and the commit messages as
documents of type ``commit``. A local repository is read in place; a remote one (``git://``, ``http(s)://``, ssh)
is mirrored into the source's work folder and fetched on each sync (``git`` itself, with a time limit).

Keys: ``file:PATH`` (token: the blob id, so an unchanged file is never read again) and ``commit:SHA`` (immutable).
Principals: a repository says nothing about its readers, so items are readable by the source's owner and readers
only (default-deny). Settings: ``branch`` (default HEAD), ``commits`` (most recent commit messages indexed, default
1000, 0 = none).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from spyglass.sources.connector import (
    MAX_ITEM_BYTES,
    ConnectorError,
    Entry,
    Fetched,
    ItemError,
    SourceSpec,
    safe_name,
)

GIT_TIMEOUT_S = 300.0
# Only plain transports (no ext::, no fd::), no hooks, no credential prompts: the repository or URL is data.
_SAFE = ("-c", "protocol.ext.allow=never", "-c", "protocol.fd.allow=never", "-c", "core.hooksPath=/dev/null",
         "-c", "core.fsmonitor=false")


def _env() -> dict[str, str]:
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true", "LC_ALL": "C",
            "GIT_PROTOCOL_FROM_USER": "0"}


class GitConnector:
    kind = "git"

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.ref = str(spec.settings.get("branch") or "HEAD")
        if self.ref.startswith("-"):
            raise ConnectorError(f"branch {self.ref!r}: not a branch name")
        self.max_commits = int(spec.settings.get("commits", 1000))
        loc = spec.location
        if "://" in loc or (":" in loc and not os.path.exists(loc)):
            work = Path(spec.settings.get("_workdir") or Path.home() / ".cache" / "spyglass" / "git")
            self.repo = work / (hashlib.blake2b(loc.encode(), digest_size=8).hexdigest() + ".git")
            self._mirror(loc)
        else:
            self.repo = Path(loc)
            if not self.repo.exists():
                raise ConnectorError(f"{loc}: no such repository")
        self._last: dict[str, tuple[str, str, str, float, str]] = {}

    def _git(self, *args: str, timeout: float = GIT_TIMEOUT_S, cwd: Path | None = None) -> bytes:
        try:
            r = subprocess.run(["git", *_SAFE, "-c", f"safe.directory={self.repo}", *args], cwd=cwd or self.repo,
                               capture_output=True, timeout=timeout, env=_env())
        except FileNotFoundError:
            raise ConnectorError("git is not installed: apt-get install git") from None
        except subprocess.TimeoutExpired:
            raise ConnectorError(f"git {args[0]} took longer than {timeout:g} s") from None
        if r.returncode != 0:
            raise ConnectorError(f"git {args[0]} failed: {r.stderr.decode('utf-8', 'replace').strip()[:300]}")
        return r.stdout

    def _mirror(self, url: str) -> None:
        if (self.repo / "HEAD").exists():
            self._git("remote", "update", "--prune")
        else:
            self.repo.parent.mkdir(parents=True, exist_ok=True)
            self._git("clone", "--mirror", "--quiet", "--", url, str(self.repo), cwd=self.repo.parent)

    # -- listing ------------------------------------------------------------------------------------------------
    def entries(self) -> Iterator[Entry]:
        head = self._git("rev-parse", "--verify", "--quiet", f"{self.ref}^{{commit}}").decode().strip()
        tree = self._git("ls-tree", "-r", "-z", "--long", head)
        files: list[tuple[str, str, int]] = []
        for rec in tree.split(b"\0"):
            if not rec:
                continue
            meta, _, path = rec.partition(b"\t")
            mode, typ, sha, size = meta.split()
            if typ != b"blob" or mode == b"120000":  # submodules and symbolic links are not content
                continue
            files.append((path.decode("utf-8", "surrogateescape"), sha.decode(), int(size) if size.isdigit() else 0))
        self._last = self._last_commits(head, {p for p, _, _ in files})
        for path, sha, size in files:
            last = self._last.get(path)
            folder, _, name = path.rpartition("/")
            yield Entry(key=f"file:{path}", token=sha, name=name, folder=folder, size=size,
                        modified=last[3] if last else None, handle=("file", path, sha))
        if self.max_commits > 0:
            for sha, author, email, when, subject in self._commits(head):
                yield Entry(key=f"commit:{sha}", token=sha, name=f"commit {sha[:10]}", folder="commits",
                            modified=when, handle=("commit", sha, (author, email, when, subject)))

    def _log(self, head: str, *extra: str) -> list[bytes]:
        out = self._git("log", "-z", "--format=%x1e%H%x1f%an%x1f%ae%x1f%at%x1f%s", *extra, head)
        return [r for r in out.split(b"\x1e") if r.strip(b"\0\n")]

    def _last_commits(self, head: str, paths: set[str]) -> dict[str, tuple[str, str, str, float, str]]:
        """For each path at HEAD, the newest commit that touched it (one pass over the history)."""
        out: dict[str, tuple[str, str, str, float, str]] = {}
        for rec in self._log(head, "--name-only"):
            header, _, names = rec.partition(b"\0")
            if b"\n" in header:
                header, _, first = header.partition(b"\n")
                names = first + b"\0" + names
            sha, author, email, when, subject = header.decode("utf-8", "replace").split("\x1f", 4)
            for n in names.split(b"\0"):
                p = n.strip(b"\n").decode("utf-8", "surrogateescape")
                if p in paths and p not in out:
                    out[p] = (sha, author, email, float(when or 0), subject)
            if len(out) == len(paths):
                break
        return out

    def _commits(self, head: str) -> Iterator[tuple[str, str, str, float, str]]:
        for rec in self._log(head, "-n", str(self.max_commits)):
            header = rec.strip(b"\0\n").split(b"\0")[0]
            sha, author, email, when, subject = header.decode("utf-8", "replace").split("\x1f", 4)
            yield sha, author, email, float(when or 0), subject

    # -- content ------------------------------------------------------------------------------------------------
    def prefetch(self, entries: list[Entry]) -> None:
        """The blobs of a batch from one ``git cat-file --batch`` (up to 64 MB together)."""
        self._blobs: dict[str, bytes] = {}
        shas, total = [], 0
        for e in entries:
            if e.handle[0] == "file" and total + e.size <= MAX_ITEM_BYTES:
                shas.append(e.handle[2])
                total += e.size
        if not shas:
            return
        out = self._git_input("cat-file", "--batch", data=("\n".join(shas) + "\n").encode())
        pos = 0
        while pos < len(out):
            nl = out.index(b"\n", pos)
            head = out[pos:nl].split()
            if len(head) != 3:  # "<sha> missing"
                pos = nl + 1
                continue
            size = int(head[2])
            self._blobs[head[0].decode()] = out[nl + 1:nl + 1 + size]
            pos = nl + 1 + size + 1

    def _git_input(self, *args: str, data: bytes) -> bytes:
        try:
            r = subprocess.run(["git", *_SAFE, "-c", f"safe.directory={self.repo}", *args], cwd=self.repo,
                               input=data, capture_output=True, timeout=GIT_TIMEOUT_S, env=_env())
        except subprocess.TimeoutExpired:
            raise ConnectorError(f"git {args[0]} took longer than {GIT_TIMEOUT_S:g} s") from None
        if r.returncode != 0:
            raise ConnectorError(f"git {args[0]} failed: {r.stderr.decode('utf-8', 'replace').strip()[:300]}")
        return r.stdout

    def fetch(self, entry: Entry) -> Fetched:
        what = entry.handle[0]
        if what == "file":
            _, path, sha = entry.handle
            if entry.size > MAX_ITEM_BYTES:
                raise ItemError("too-large", f"{entry.size} bytes in the repository, over the limit")
            data = getattr(self, "_blobs", {}).pop(sha, None)
            if data is None:
                data = self._git("cat-file", "blob", sha)
            last = self._last.get(path)
            meta = {"repository": self.spec.location, "git_path": path, "blob": sha}
            if last:
                meta.update(commit=last[0], commit_message=last[4], commit_author=last[1], commit_email=last[2])
            return Fetched(data=data, name=safe_name(entry.name), author=last[1] if last else None,
                           modified=last[3] if last else None, meta=meta,
                           uri=f"{self.spec.location.rstrip('/')}#{path}@{last[0] if last else sha}")
        _, sha, (author, email, when, subject) = entry.handle
        body = self._git("show", "-s", "--format=%B", sha).decode("utf-8", "replace")
        files = [f for f in self._git("show", "--name-only", "--format=", sha).decode("utf-8", "replace").splitlines()
                 if f.strip()]
        text = (f"{body.strip()}\n\ncommit {sha}\nAuthor: {author} <{email}>\n\nFiles changed:\n"
                + "\n".join(files[:500]))
        return Fetched(data=text.encode(), name=f"commit-{sha[:12]}.txt", type="commit", title=subject or sha[:12],
                       author=author, created=when, modified=when,
                       meta={"repository": self.spec.location, "commit": sha, "email": email, "files": files[:200]},
                       uri=f"{self.spec.location.rstrip('/')}#commit={sha}")

    def close(self) -> None:
        pass
