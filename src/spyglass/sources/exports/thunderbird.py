"""Thunderbird profiles: every local and cached IMAP folder (``Mail/<account>/`` and ``ImapMail/<server>/``) is an
mbox file without an extension beside its ``.msf`` index; subfolders live in ``<name>.sbd/``. One document per
message, attachments as children. Folders read as ``account/Inbox/Sub``.

Principals: the source's owner and readers plus each message's sender and recipients (``email:``).
"""

from __future__ import annotations

import os

from spyglass.sources.connector import Entry, Fetched
from spyglass.sources.exports.base import LocalExport

MAIL_ROOTS = ("Mail", "ImapMail")


class ThunderbirdConnector(LocalExport):
    kind = "thunderbird"

    def wanted(self, rel: str, name: str) -> bool:
        parts = rel.split(os.sep)
        if parts[0] not in MAIL_ROOTS or len(parts) < 3 or "." in name:
            return False  # .msf indexes, filter logs, popstate.dat, msgFilterRules.dat, ...
        try:
            with open(os.path.join(self.root, rel), "rb") as fh:
                head = fh.read(5)
        except OSError:
            return False
        return head == b"From "  # an empty folder has nothing to index

    def display_folder(self, folder: str) -> str:
        parts = folder.split("/")[1:]  # drop Mail / ImapMail
        return super().display_folder("/".join(p[:-4] if p.endswith(".sbd") else p for p in parts))

    def describe(self, entry: Entry, path: str) -> Fetched:
        return Fetched(name=f"{entry.name}.mbox", type="mailbox", title=f"{entry.folder}/{entry.name}",
                       meta={"folder": f"{entry.folder}/{entry.name}"}, uri=f"file://{path}")
