"""Google Takeout (unzipped): Mail as an mbox (one document per message, attachments as children), Drive as a
folder of files, Calendar as .ics (one document per event), Contacts as .vcf (one per contact), and whatever else the
archive holds, read by its extension. Folders keep Takeout's layout (``Mail``, ``Drive/…``, ``Calendar``,
``Contacts/…``); the product is ``meta.takeout``.

Principals: the source's owner and readers; a message adds its sender and recipients, an event its organizer and
attendees (the same mapping as the live mail and calendar connectors). Takeout's own report (``archive_browser.html``)
is skipped.
"""

from __future__ import annotations

from spyglass.sources.connector import Entry, Fetched
from spyglass.sources.exports.base import LocalExport


class TakeoutConnector(LocalExport):
    kind = "takeout"

    def wanted(self, rel: str, name: str) -> bool:
        return name != "archive_browser.html"

    def display_folder(self, folder: str) -> str:
        parts = folder.split("/")
        if parts and parts[0] == "Takeout":  # the archive's top folder says nothing
            parts = parts[1:]
        return super().display_folder("/".join(parts))

    def describe(self, entry: Entry, path: str) -> Fetched:
        f = super().describe(entry, path)
        product = (entry.folder.split("/") or [""])[0]
        f.meta = {"takeout": product} if product else {}
        return f
