"""Maildir folders (``cur/``, ``new/``; Maildir++ subfolders ``.Sent``, ``.Archive.2024``): one document per message,
attachments as children. The key is the folder and the message's unique name (what comes before ``:2,``), the token
its flags and size, so a message read or flagged elsewhere is updated, a moved one is deleted here and added there.

Principals: the source's owner and readers plus the message's sender and recipients (``email:``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from spyglass.sources.connector import MAX_LISTING, ConnectorError, Entry, Fetched, safe_folder, safe_name
from spyglass.sources.exports.base import LocalExport

FLAGS = {"D": "draft", "F": "flagged", "P": "passed", "R": "replied", "S": "seen", "T": "trashed"}


class MaildirConnector(LocalExport):
    kind = "maildir"

    def _maildirs(self) -> Iterator[tuple[str, str]]:
        """(folder path relative to the root, display folder) of every maildir under the root."""
        for dirpath, dirs, _names in os.walk(self.root, followlinks=False):
            dirs.sort()
            if {"cur", "new"} <= set(dirs):
                rel = os.path.relpath(dirpath, self.root)
                rel = "" if rel == "." else rel
                display = "/".join(p.lstrip(".").replace(".", "/") for p in rel.split(os.sep) if p)
                yield rel, safe_folder(display) or "INBOX"
            dirs[:] = [d for d in dirs if d not in ("cur", "new", "tmp")]

    def entries(self) -> Iterator[Entry]:
        n = 0
        for rel, display in self._maildirs():
            for sub in ("new", "cur"):
                d = os.path.join(self.root, rel, sub)
                for name in sorted(os.listdir(d)):
                    if name.startswith("."):
                        continue
                    full = os.path.join(d, name)
                    try:
                        st = os.stat(full)
                    except OSError:
                        continue
                    if not os.path.isfile(full):
                        continue
                    n += 1
                    if n > MAX_LISTING:
                        raise ConnectorError(f"more than {MAX_LISTING} messages: refused")
                    unique, _, info = name.partition(":2,")
                    flags = sorted(FLAGS.get(c, c) for c in info if c.isalpha())
                    yield Entry(key=f"{display}/{unique}", token=f"{','.join(flags)}:{st.st_size}",
                                name=safe_name(unique) + ".eml", folder=display, size=st.st_size,
                                modified=st.st_mtime, handle=(os.path.join(rel, sub, name), flags))

    def fetch(self, entry: Entry) -> Fetched:
        rel, flags = entry.handle
        path = self.path_of(rel)
        return Fetched(path=path, name=entry.name, type="email", meta={"folder": entry.folder, "flags": flags},
                       uri=f"file://{path}")
