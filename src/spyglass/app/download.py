"""What may be served of a document's own file: the catalog's record of it (the server then opens it with
:func:`spyglass.server.files.open_indexed`), and the container rule — a mailbox, chat export or archive is served or
previewed whole only to a caller who may read every item inside it (checked in the catalog query)."""

from __future__ import annotations

from typing import Any

from spyglass.core.errors import ForbiddenError, NotFoundError

WITHHELD = ("this file holds items you may not read, so it is not served whole: open and download its items "
            "(messages, channels, members) one by one")


def file_record(sg: Any, item_id: str, principals: list[str]) -> dict[str, Any]:
    """The indexed record (path bytes, size, mtime_ns, dev/ino when recorded) of a readable document's own file."""
    cat = sg.reader().catalog
    if cat.visible_item(item_id, principals) is None:
        raise NotFoundError(f"no document {item_id!r}")
    rec = cat.file_record(item_id)
    if rec is None or not rec.get("path_raw"):
        raise NotFoundError("this item has no file of its own (a message or attachment): open the file it is in")
    require_whole(sg, item_id, principals)
    return rec


def whole_readable(sg: Any, item_id: str, principals: list[str]) -> bool:
    return sg.reader().catalog.unreadable_descendants(item_id, principals) == 0


def require_whole(sg: Any, item_id: str, principals: list[str]) -> None:
    if not whole_readable(sg, item_id, principals):
        raise ForbiddenError(WITHHELD)
