"""Zip archives: each member of a supported type becomes a child document. Expansion is checked first
(:func:`spyglass.extraction.guards.check_zip`); a Slack export zip is read as a chat export."""

from __future__ import annotations

import io

from spyglass.core.errors import ExtractionError
from spyglass.core.ids import hash_bytes
from spyglass.core.types import ChildDoc, Extracted
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.guards import check_zip, read_member


def unsafe_member(name: str) -> str | None:
    """Why a member name could act as a path outside the archive (absolute, drive letter, ``..``, NUL), or None."""
    if "\0" in name:
        return "holds a NUL byte"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return "is absolute"
    if ".." in norm.split("/"):
        return "climbs out with '..'"
    return None


def extract_zip(blob: Blob, ctx: Context) -> Extracted:
    from spyglass.extraction.chat import extract_slack_export, is_slack_export
    from spyglass.extraction.registry import extract_blob, file_type, mime_type

    data = blob.read()
    zf = check_zip(io.BytesIO(data), ctx, compressed_size=len(data))
    infos = [i for i in zf.infolist() if not i.is_dir()]
    if is_slack_export({i.filename.rsplit("/", 1)[-1] for i in infos if i.filename.count("/") <= 1}):
        return extract_slack_export(Blob(name=blob.name, data=data), ctx)
    if any(i.flag_bits & 0x1 for i in infos):
        raise ExtractionError("encrypted", "password-protected zip archive")
    children: list[ChildDoc] = []
    seen: dict[str, int] = {}
    counts: dict[str, int] = {}
    for info in infos:
        counts[info.filename] = counts.get(info.filename, 0) + 1
    for n, info in enumerate(infos):
        name = info.filename
        base = name.rsplit("/", 1)[-1]
        if base.startswith(".") or "__MACOSX/" in name:
            continue
        why = unsafe_member(name)
        if why:  # a member name is a name, never a path: record it, read nothing
            label = repr(name)[:200]
            children.append(ChildDoc(locator=f"refused/{n}", name=f"refused member {n + 1}", type="other",
                                     size=info.file_size, error=("unsafe-name", f"member name {label} {why}: refused "
                                                                 "(names inside an archive are never paths)")))
            continue
        kind = file_type(base)
        seen[name] = seen.get(name, 0) + 1
        # a zip may hold one name twice: the second is another document, never a replacement of the first
        locator = name if seen[name] == 1 else f"{name}#{seen[name]}"
        child = ChildDoc(locator=locator, name=name, type=kind[0], size=info.file_size, mime=mime_type(base))
        child.modified = None
        if (kind[1] is None and kind[0] != "other") or ctx.depth >= ctx.max_depth:  # "other": sniffed for text
            child.extracted = Extracted(meta={"metadata_only": True})
        else:
            try:
                member = read_member(zf, info, ctx)
                child.content_hash = hash_bytes(member)
                child.extracted = extract_blob(Blob(name=base, data=member), ctx.child(), kind)
            except ExtractionError as exc:
                child.error = (exc.kind, exc.message)
        if counts[name] > 1:
            if child.extracted is None:
                child.extracted = Extracted()
            child.extracted.meta["name_collision"] = {"name": name, "members": counts[name]}
        children.append(child)
    return Extracted(segments=[], children=children, meta={"members": len(infos)}, type="zip")
