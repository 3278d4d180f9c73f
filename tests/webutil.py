"""The web app's corpus: the team corpus of serverutil plus photos, a PDF, a very long line, a titled document among
hash-named data files — indexed, with users admin, alice and bob."""

from __future__ import annotations

import json
import os
from pathlib import Path

from serverutil import ALICE_GID, BOB_GID, PASSWORD, write_corpus

# data files named by a hash or a number, as exports and caches name them (like ../shared/data/formats holds)
HASH_NAMES = ("659daefa21dd8c9054b084b6.json", "1099442333440802930.json", "21be155fb0c95885.eml.json",
              *(f"{(i * 2654435761) % 16**16:016x}.json" for i in range(1, 10)))
LONG_TOKEN = "longline" + "x" * 3000  # one unbroken 3,000-character word


def photo(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (640, 480)) -> None:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", size, color)
    d = ImageDraw.Draw(im)
    d.ellipse((size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill=(255, 255, 255))
    im.save(path)


def pdf(path: Path, title: str, text: str) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    c.setTitle(title)
    c.setFont("Helvetica-Bold", 28)
    c.drawString(72, 760, title)
    c.setFont("Helvetica", 12)
    c.drawString(72, 720, text)
    c.rect(72, 300, 450, 380)
    c.save()


def add_web_files(root: Path) -> None:
    photo(root / "harbour-photo.png", (40, 110, 200))
    photo(root / "swap-me.png", (90, 90, 90))  # test_web_api replaces it after indexing
    secret = root / "alice-photo.png"
    photo(secret, (200, 40, 60))
    os.chown(secret, 0, ALICE_GID)
    secret.chmod(0o640)
    pdf(root / "ferry-timetable.pdf", "Ferry timetable",
        "The ferry leaves at nine; the zebra crossing by the pier is worn.")
    (root / "notes").mkdir()
    (root / "notes" / "long-line.txt").write_text(f"A log line that never breaks: {LONG_TOKEN} end of the zebra log.")
    filler = " ".join(["The office moves to the harbour building in spring and keeps its opening hours."] * 30)
    (root / "notes" / "office-plans.md").write_text(f"# Harbour office plans\n\n{filler}\n\nNext year's "
                                                    "milestones are in the roadmap.\n")
    data = root / "data"
    data.mkdir()
    for i, name in enumerate(HASH_NAMES):  # data files whose names are hashes: short, and all about milestones
        (data / name).write_text(json.dumps({"id": i, "milestones": ["milestones"] * 5}))


def date_files(root: Path) -> None:
    """Modification times like a real folder's: the data export two years old, the documents over the last weeks."""
    import time

    now = time.time()
    for i, p in enumerate(sorted(root.rglob("*"))):
        if p.is_file():
            age = 700 if p.parent.name == "data" else 1 + (i * 5) % 40
            os.utime(p, (now - age * 86400, now - age * 86400))


def assign_topics(home: Path) -> None:
    """Topics stored as `spyglass topics` stores them (its clustering needs embeddings, which these tests leave off):
    the data files in topic 7, the other files in topic 3, labelled from their own words."""
    from spyglass.app.organize import label_terms
    from spyglass.core.acl import EVERYTHING
    from spyglass.index.catalog import Catalog
    from spyglass.index.organize_store import OrganizeStore

    cat = Catalog(home / "catalog.sqlite3")
    try:
        store = OrganizeStore(cat)
        assignments = {f["id"]: (7 if "/data/" in f["path"] else 3, 1.0) for f in store.files(EVERYTHING)}
        texts = store.texts(list(assignments))
        store.replace_topics(assignments, {i: label_terms(texts.get(i, "")) for i in assignments})
    finally:
        cat.close()


def build_web_home(tmp: Path):
    """(home, corpus root): the team corpus plus the web files, indexed once (keyword only: no model to load), with
    users admin, alice and bob as serverutil.build_team_home makes them, and topics stored."""
    from spyglass.app.spyglass import Spyglass
    from spyglass.core.config import load_config

    root = tmp / "team"
    write_corpus(root)
    add_web_files(root)
    date_files(root)
    home = tmp / "home"
    home.mkdir()
    (home / "config.toml").write_text("[server]\nrate_per_s = 1000.0\nrate_burst = 1000\n"
                                      "[embedding]\nenabled = false\n")
    sg = Spyglass(home, config=load_config(home / "config.toml"))
    sg.index([str(root)])
    acc = sg.accounts
    acc.add_user("admin", "admin", PASSWORD)
    acc.add_user("alice", "member", PASSWORD, groups=[str(ALICE_GID)], emails=["alice@example.com"])
    acc.add_user("bob", "member", PASSWORD, groups=[str(BOB_GID)])
    sg.close_all()
    assign_topics(home)
    return home, root
