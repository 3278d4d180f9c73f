"""E-mail: .eml (one message), .mbox (one item per message), Outlook .msg. Attachments become child items.

Parsing is the standard library's ``email`` package (RFC 5322/MIME, ``policy.default``) and ``mailbox``; .msg files
use extract-msg. A message's readers are its sender and recipients (``email:`` principals).
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import mailbox
import os
import tempfile
from email.message import EmailMessage

from spyglass.core import acl
from spyglass.core.errors import ExtractionError
from spyglass.core.ids import hash_bytes
from spyglass.core.types import ChildDoc, Extracted, Segment
from spyglass.extraction.base import Blob, Context


def _addresses(*values: str | None) -> list[tuple[str, str]]:
    return [(n, a) for n, a in email.utils.getaddresses([v for v in values if v]) if a and "@" in a]


def _fmt(pairs: list[tuple[str, str]]) -> str:
    return ", ".join(email.utils.formataddr(p) for p in pairs)


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None:
        return None
    try:
        return dt.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def _header(msg: EmailMessage, name: str) -> str | None:
    try:
        v = msg.get(name)
    except Exception:  # malformed headers raise from the header registry
        v = msg.get_all(name, failobj=[None])[0] if hasattr(msg, "get_all") else None
    return str(v).strip() if v else None


def _body_text(msg: EmailMessage) -> str:
    from spyglass.extraction.html import html_to_text

    try:
        part = msg.get_body(preferencelist=("plain", "html"))
    except Exception:  # broken MIME trees
        part = None
    if part is None:
        return ""
    try:
        content = part.get_content()
    except Exception:  # unknown charsets, bad transfer encodings
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    if isinstance(content, bytes):
        content = content.decode("utf-8", errors="replace")
    if part.get_content_subtype() == "html":
        content = html_to_text(content)[0]
    return content.strip()


def message_to_extracted(msg: EmailMessage, ctx: Context) -> Extracted:
    """A parsed message as a document: headers + body, readers as principals, attachments as children."""
    sender = _addresses(_header(msg, "From"))
    to = _addresses(_header(msg, "To"))
    cc = _addresses(_header(msg, "Cc"))
    bcc = _addresses(_header(msg, "Bcc"))
    subject = _header(msg, "Subject") or ""
    lines = []
    if sender:
        lines.append(f"From: {_fmt(sender)}")
    if to:
        lines.append(f"To: {_fmt(to)}")
    if cc:
        lines.append(f"Cc: {_fmt(cc)}")
    if subject:
        lines.append(f"Subject: {subject}")
    body = _body_text(msg)
    text = ("\n".join(lines) + "\n\n" + body).strip()[: ctx.text_budget]
    principals = sorted({acl.email(a) for _, a in sender + to + cc + bcc})
    children: list[ChildDoc] = []
    if ctx.depth < ctx.max_depth:
        children = _attachments(msg, ctx)
    author = _fmt(sender) if sender else None
    return Extracted(
        segments=[Segment(text)] if text else [],
        title=subject or None,
        author=author,
        created=_date(_header(msg, "Date")),
        meta={
            "from": [a for _, a in sender],
            "to": [a for _, a in to],
            "cc": [a for _, a in cc],
            "message_id": _header(msg, "Message-ID"),
        },
        children=children,
        type="email",
        acl=principals,  # may be empty: a message naming no valid address (readable by the file's owner alone)
    )


def _attachments(msg: EmailMessage, ctx: Context) -> list[ChildDoc]:
    from spyglass.extraction.registry import extract_blob, file_type, mime_type

    out: list[ChildDoc] = []
    try:
        parts = list(msg.iter_attachments())
    except Exception:  # a broken multipart tree: keep the message, lose the attachments
        return out
    for n, part in enumerate(parts):
        name = part.get_filename() or f"attachment-{n + 1}"
        if part.get_content_type() == "message/rfc822":  # a forwarded message: a child e-mail
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, EmailMessage):
                ex = message_to_extracted(inner, ctx.child())
                ex.acl = None  # a forwarded message is read by whoever received the message carrying it
                out.append(ChildDoc(f"att/{n}/message", ex.title or name, "email", extracted=ex, acl=None,
                                    modified=ex.created, mime="message/rfc822", size=len(inner.as_bytes())))
                continue
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:
            data = b""
        kind = file_type(name)
        child = ChildDoc(
            locator=f"att/{n}/{name}",
            name=name,
            type=kind[0],
            size=len(data),
            mime=part.get_content_type() or mime_type(name),
            content_hash=hash_bytes(data),
        )
        if not data:
            child.error = ("empty", "empty attachment")
        else:
            try:
                child.extracted = extract_blob(Blob(name=name, data=data), ctx.child(), kind)
            except ExtractionError as exc:
                child.error = (exc.kind, exc.message)
        out.append(child)
    return out


def _parse_bytes(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def extract_eml(blob: Blob, ctx: Context) -> Extracted:
    data = blob.read()
    msg = _parse_bytes(data)
    if not msg.keys() and not msg.get_payload():
        raise ExtractionError("corrupt", "not an e-mail message (no headers)")
    return message_to_extracted(msg, ctx)


def extract_mbox(blob: Blob, ctx: Context) -> Extracted:
    path = blob.path
    tmp = None
    if path is None:
        tmp = tempfile.NamedTemporaryFile(suffix=".mbox", delete=False)
        tmp.write(blob.read())
        tmp.close()
        path = tmp.name
    children: list[ChildDoc] = []
    by_id: dict[str, list[int]] = {}  # Message-ID -> indexes in children
    try:
        box = mailbox.mbox(str(path), factory=None, create=False)
        for n, key in enumerate(box.iterkeys()):
            try:
                raw = box.get_bytes(key)
            except Exception as exc:  # a torn message does not spoil the mailbox
                children.append(ChildDoc(f"msg/{n}", f"message {n + 1}", "email", error=("corrupt", str(exc)),
                                         acl=[]))
                continue
            msg = _parse_bytes(raw)
            ex = message_to_extracted(msg, ctx.child())
            ex.meta["position"] = n
            mid = (ex.meta.get("message_id") or "").strip("<>")
            if mid:
                by_id.setdefault(mid, []).append(len(children))
            children.append(
                ChildDoc(
                    # position and id: two messages with one Message-ID are two documents, appending keeps ids
                    locator=f"msg/{n}/{mid}" if mid else f"msg/{n}",
                    name=ex.title or f"message {n + 1}",
                    type="email",
                    extracted=ex,
                    acl=ex.acl,
                    modified=ex.created,
                    size=len(raw),
                    mime="message/rfc822",
                    content_hash=hash_bytes(raw),
                )
            )
        box.close()
    finally:
        if tmp is not None:
            os.unlink(tmp.name)
    if not children:
        raise ExtractionError("corrupt", "no messages found in the mailbox")
    meta = {"messages": len(children)}
    collisions = _record_collisions(children, by_id)
    if collisions:
        meta["message_id_collisions"] = collisions
    return Extracted(segments=[], children=children, meta=meta, type="mailbox")


def _record_collisions(children: list[ChildDoc], by_id: dict[str, list[int]]) -> int:
    """Mark every message whose Message-ID another message of the mailbox also has (both stay indexed); returns
    how many ids are shared."""
    shared = 0
    for mid, idx in by_id.items():
        if len(idx) < 2:
            continue
        shared += 1
        positions = [children[i].extracted.meta["position"] for i in idx]  # type: ignore[union-attr]
        for i in idx:
            children[i].extracted.meta["message_id_collision"] = {  # type: ignore[union-attr]
                "message_id": mid, "positions": positions}
    return shared


def extract_msg(blob: Blob, ctx: Context) -> Extracted:
    import extract_msg

    try:
        m = extract_msg.openMsg(blob.read() if blob.path is None else str(blob.path), strict=False)
    except Exception as exc:  # extract-msg raises InvalidFileFormatError and friends
        raise ExtractionError("corrupt", f"unreadable Outlook message: {type(exc).__name__}: {exc}") from exc
    try:
        if not hasattr(m, "body"):
            raise ExtractionError("unsupported", f"Outlook item of kind {type(m).__name__} is not a message")
        sender = _addresses(m.sender)
        to = _addresses(m.to)
        cc = _addresses(m.cc)
        bcc = _addresses(getattr(m, "bcc", None))
        subject = (m.subject or "").strip()
        try:
            body = (m.body or "").strip()
        except Exception:
            body = ""
        header = [f"From: {_fmt(sender)}" if sender else "", f"To: {_fmt(to)}" if to else "",
                  f"Cc: {_fmt(cc)}" if cc else "", f"Subject: {subject}" if subject else ""]
        text = ("\n".join(h for h in header if h) + "\n\n" + body).strip()[: ctx.text_budget]
        created = None
        try:
            created = m.date.timestamp() if m.date else None
        except Exception:
            created = None
        children: list[ChildDoc] = []
        if ctx.depth < ctx.max_depth:
            from spyglass.extraction.registry import extract_blob, file_type, mime_type

            for n, att in enumerate(getattr(m, "attachments", []) or []):
                data = att.data if isinstance(getattr(att, "data", None), bytes) else None
                name = getattr(att, "longFilename", None) or getattr(att, "shortFilename", None) or f"attachment-{n+1}"
                kind = file_type(name)
                child = ChildDoc(f"att/{n}/{name}", name, kind[0], size=len(data or b""), mime=mime_type(name))
                if not data:
                    child.error = ("unsupported", "embedded item without file data")
                else:
                    child.content_hash = hash_bytes(data)
                    try:
                        child.extracted = extract_blob(Blob(name=name, data=data), ctx.child(), kind)
                    except ExtractionError as exc:
                        child.error = (exc.kind, exc.message)
                children.append(child)
        principals = sorted({acl.email(a) for _, a in sender + to + cc + bcc})
        return Extracted(
            segments=[Segment(text)] if text else [],
            title=subject or None,
            author=_fmt(sender) or None,
            created=created,
            meta={"from": [a for _, a in sender], "to": [a for _, a in to], "cc": [a for _, a in cc]},
            children=children,
            type="email",
            acl=principals,
        )
    finally:
        try:
            m.close()
        except Exception:
            pass
