"""The web app's corpus: the team corpus of serverutil plus photos, a PDF, a very long line, a titled document among
hash-named data files — indexed, with users admin, alice and bob."""

from __future__ import annotations

import json
import os
from pathlib import Path

from serverutil import ALICE_GID, build_team_home

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
    secret = root / "alice-photo.png"
    photo(secret, (200, 40, 60))
    os.chown(secret, 0, ALICE_GID)
    secret.chmod(0o640)
    pdf(root / "bridge-report.pdf", "Harbour bridge report", "The bridge inspection found the zebra crossing worn.")
    (root / "notes").mkdir()
    (root / "notes" / "long-line.txt").write_text(f"A log line that never breaks: {LONG_TOKEN} end of the zebra log.")
    filler = " ".join(["The office moves to the harbour building in spring and keeps its opening hours."] * 30)
    (root / "notes" / "office-plans.md").write_text(f"# Harbour office plans\n\n{filler}\n\nNext year's "
                                                    "milestones are in the roadmap.\n")
    data = root / "data"
    data.mkdir()
    for i, name in enumerate(HASH_NAMES):  # data files whose names are hashes: short, and all about milestones
        (data / name).write_text(json.dumps({"id": i, "milestones": ["milestones"] * 5}))


def build_web_home(tmp: Path):
    """(home, corpus root) with the web corpus indexed (keyword only: no model to load)."""
    from spyglass.app.spyglass import Spyglass

    home, root = build_team_home(tmp, embeddings=False)
    add_web_files(root)
    sg = Spyglass(home)
    sg.index()
    sg.close_all()
    return home, root
