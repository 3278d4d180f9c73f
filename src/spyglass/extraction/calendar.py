"""Calendars (.ics, iCalendar RFC 5545) and address books (.vcf, vCard RFC 6350), parsed with vobject.

One event is one document of type ``event``: its title, time, place, organizer, attendees and description as text;
``meta`` holds ``start``/``end`` (unix seconds: the item's date, so ``after:``/``before:`` select by when it happens),
``location``, ``organizer`` and ``attendees`` (addresses, for ``attendee:``). Its readers are the organizer and the
attendees (``email:`` principals). A file with one event is that event; a file with several is a ``calendar`` whose
events are children. Contacts likewise: ``contact`` documents, several make an ``addressbook``. A contact declares no
readers (default-deny: the file's or the source's own).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from spyglass.core import acl
from spyglass.core.errors import ExtractionError
from spyglass.core.types import ChildDoc, Extracted, Segment
from spyglass.extraction.base import Blob, Context
from spyglass.extraction.text import decode


def _vobject():
    try:
        import vobject
    except ImportError:
        raise ExtractionError("unsupported", "calendar and contact files need vobject, a dependency of Spyglass: "
                                             "reinstall Spyglass (scripts/bootstrap.sh)") from None
    return vobject


def _components(blob: Blob, ctx: Context, kind: str) -> list[Any]:
    text = decode(blob.read()[: ctx.max_text_chars * 2], kind)
    vobject = _vobject()
    out = []
    limit = ctx.limits.max_archive_members
    for comp in vobject.readComponents(text, ignoreUnreadable=True):
        out.append(comp)
        if len(out) > limit:
            raise ExtractionError("too-large", f"more than {limit} {kind} entries (limits.max_archive_members)")
    return out


def _value(comp: Any, name: str) -> str:
    try:
        v = getattr(comp, name).value
    except AttributeError:
        return ""
    if isinstance(v, list):
        v = ", ".join(str(x) for x in v)
    return str(v).strip()


def _ts(value: Any) -> float | None:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp()
    return None


def _address(value: str) -> str:
    v = value.strip()
    return v[7:] if v.lower().startswith("mailto:") else v


def _person(prop: Any) -> tuple[str, str]:
    cn = prop.params.get("CN", [""])[0] if hasattr(prop, "params") else ""
    return str(cn).strip(), _address(str(prop.value)).lower()


def event_to_extracted(ev: Any, ctx: Context) -> Extracted:
    title = _value(ev, "summary") or "(no title)"
    start = _ts(getattr(ev, "dtstart", None) and ev.dtstart.value)
    end = _ts(getattr(ev, "dtend", None) and ev.dtend.value)
    organizer = _person(ev.organizer) if hasattr(ev, "organizer") else ("", "")
    people = [_person(a) for a in ev.contents.get("attendee", [])]
    where, what = _value(ev, "location"), _value(ev, "description")
    when = ""
    if start is not None:
        when = datetime.fromtimestamp(start, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if end is not None:
            when += " – " + datetime.fromtimestamp(end, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Event: {title}"]
    if when:
        lines.append(f"When: {when}")
    if where:
        lines.append(f"Where: {where}")
    if organizer[1]:
        lines.append(f"Organizer: {' '.join(x for x in organizer if x)}")
    if people:
        lines.append("Attendees: " + ", ".join(f"{n} <{a}>" if n else a for n, a in people))
    if _value(ev, "rrule"):
        lines.append(f"Repeats: {_value(ev, 'rrule')}")
    text = ("\n".join(lines) + ("\n\n" + what if what else ""))[: ctx.max_text_chars]
    addresses = [a for _, a in [organizer, *people] if "@" in a]
    return Extracted(
        segments=[Segment(text)], title=title, author=organizer[0] or organizer[1] or None, created=start,
        meta={"start": start, "end": end, "location": where or None, "organizer": organizer[1] or None,
              "attendees": [a for _, a in people if a], "uid": _value(ev, "uid") or None,
              "rrule": _value(ev, "rrule") or None},
        type="event", acl=sorted({acl.email(a) for a in addresses}) or None)


def extract_ics(blob: Blob, ctx: Context) -> Extracted:
    events: dict[str, Any] = {}
    for cal in _components(blob, ctx, "calendar"):
        for ev in cal.contents.get("vevent", []):
            uid = _value(ev, "uid") or f"#{len(events)}"
            if uid in events and hasattr(ev, "recurrence_id"):
                uid = f"{uid}/{_value(ev, 'recurrence_id')}"  # a changed occurrence of a repeating event
            events.setdefault(uid, ev)
    if not events:
        raise ExtractionError("empty", "no events in the calendar")
    if len(events) == 1:
        return event_to_extracted(next(iter(events.values())), ctx)
    children = []
    for uid, ev in events.items():
        ex = event_to_extracted(ev, ctx.child())
        children.append(ChildDoc(locator=f"event/{uid}", name=ex.title or uid, type="event", extracted=ex, acl=ex.acl,
                                 modified=ex.meta.get("start"), mime="text/calendar"))
    return Extracted(children=children, type="calendar", meta={"events": len(children)})


def contact_to_extracted(card: Any, ctx: Context) -> Extracted:
    name = _value(card, "fn") or _value(card, "n") or "(no name)"
    emails = [str(e.value).strip().lower() for e in card.contents.get("email", [])]
    phones = [str(t.value).strip() for t in card.contents.get("tel", [])]
    lines = [f"Contact: {name}"]
    for label, attr in (("Organization", "org"), ("Title", "title"), ("Birthday", "bday"), ("Address", "adr"),
                        ("Note", "note")):
        v = _value(card, attr)
        if v:
            lines.append(f"{label}: {v}")
    if emails:
        lines.append("Email: " + ", ".join(emails))
    if phones:
        lines.append("Phone: " + ", ".join(phones))
    return Extracted(segments=[Segment("\n".join(lines)[: ctx.max_text_chars])], title=name, type="contact",
                     meta={"emails": emails, "phones": phones, "org": _value(card, "org") or None,
                           "uid": _value(card, "uid") or None})


def extract_vcf(blob: Blob, ctx: Context) -> Extracted:
    cards = [c for c in _components(blob, ctx, "contact") if c.name.upper() == "VCARD"]
    if not cards:
        raise ExtractionError("empty", "no contacts in the file")
    if len(cards) == 1:
        return contact_to_extracted(cards[0], ctx)
    children = []
    for n, card in enumerate(cards):
        ex = contact_to_extracted(card, ctx.child())
        uid = ex.meta.get("uid") or str(n)
        children.append(ChildDoc(locator=f"contact/{uid}", name=ex.title or uid, type="contact", extracted=ex,
                                 mime="text/vcard"))
    return Extracted(children=children, type="addressbook", meta={"contacts": len(children)})
