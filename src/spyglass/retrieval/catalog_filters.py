"""Filters the catalog answers: ``topic:``, ``tag:`` (organize tables), ``camera:``, ``near:`` and ``taken:`` (EXIF
metadata), ``attendee:`` (calendar events). Each selects a set of documents; their intersection becomes ``filters.item_ids``, which every retriever
applies inside its index query like any other filter (tantivy term set, faiss ID selector)."""

from __future__ import annotations

import sqlite3

from spyglass.core.query import Filters
from spyglass.index.catalog import Catalog
from spyglass.index.organize_store import OrganizeStore
from spyglass.retrieval.geo import bounding_box, haversine_km


def resolve(catalog: Catalog, f: Filters) -> None:
    """Set ``f.item_ids`` to the documents the catalog filters select (unchanged when there are none)."""
    sets = _organize_sets(catalog, f) + [catalog.items_by_camera(cam.split()) for cam in sorted(set(f.cameras))]
    if f.near is not None:
        sets.append(near(catalog, *f.near))
    if f.taken is not None:
        sets.append(catalog.items_taken_between(*f.taken))
    sets += [catalog.items_with_attendee(who) for who in sorted(set(f.attendees))]
    if sets:
        ids = set.intersection(*sets)
        f.item_ids = sorted(ids if f.item_ids is None else ids & set(f.item_ids))


def _organize_sets(catalog: Catalog, f: Filters) -> list[set[str]]:
    if not f.topics and not f.tags:  # the common search: no organize tables to read (and no store to open)
        return []
    store = OrganizeStore(catalog)
    try:
        return ([set(store.items_in_topics([t])) for t in sorted(set(f.topics))]
                + [set(store.items_with_tag(tag)) for tag in sorted(set(f.tags))])
    except sqlite3.OperationalError:  # a catalog from before organize: nothing has a topic or a tag yet
        return [set()] if f.topics or f.tags else []


def near(catalog: Catalog, lat: float, lon: float, km: float) -> set[str]:
    """Images whose EXIF GPS position is within ``km`` of (lat, lon): a bounding box in SQL, then the great-circle
    distance (:mod:`spyglass.retrieval.geo`)."""
    dlat, dlon = bounding_box(lat, lon, km)
    out = set()
    for iid, la, lo in catalog.gps_in_latitudes(lat - dlat, lat + dlat):
        if la is None or lo is None or (dlon < 180 and abs((lo - lon + 180) % 360 - 180) > dlon):
            continue
        if haversine_km(lat, lon, la, lo) <= km:
            out.add(iid)
    return out
