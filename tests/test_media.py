"""Media understanding: OCR of images and scanned PDF pages (Tesseract), EXIF metadata. Real renders, real OCR."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

needs_ocr = pytest.mark.skipif(shutil.which("tesseract") is None or importlib.util.find_spec("pytesseract") is None,
                               reason="OCR runtime missing: apt-get install tesseract-ocr; pip install 'spyglass[media]'")

TEXT = "Invoice number 4471 from the Harbour Bridge Company"


def render(text: str, size=(1400, 300)):
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 44)
    except OSError:
        font = ImageFont.load_default(size=44)
    d.text((40, 110), text, fill="black", font=font)
    return img


def exif_jpeg(path: Path, img) -> None:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS 80D"
    exif.get_ifd(0x8769)[0x9003] = "2021:07:14 10:30:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (59.0, 19.0, 48.0), "E", (18.0, 4.0, 12.0)
    img.save(path, exif=exif)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    from spyglass.app.spyglass import Spyglass
    from conftest import keyword_config

    root = tmp_path_factory.mktemp("media") / "files"
    root.mkdir()
    render(TEXT).save(root / "scan.png")
    render("Rotated receipt for seventeen lanterns").rotate(90, expand=True).save(root / "sideways.png")
    exif_jpeg(root / "holiday.jpg", render("Stockholm harbour"))
    # a scanned PDF: one image-only page, and a born-digital PDF
    render("Quarterly zeppelin maintenance report").save(root / "scanned.pdf", "PDF", resolution=150)
    from fixtures import write_pdf

    write_pdf(root / "digital.pdf", ["Born digital page about walruses"])
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    sg = Spyglass(tmp_path_factory.mktemp("home"), config=keyword_config())
    sg.index([str(root)])
    yield sg, root
    sg.close()


def names(sg, q: str) -> list[str]:
    return [Path(h.path).name for h in sg.search(q, mode="keyword").hits]


@needs_ocr
def test_images_and_scanned_pages_are_searchable_by_their_text(media):
    sg, root = media
    assert names(sg, "invoice 4471") == ["scan.png"]
    assert names(sg, "lanterns") == ["sideways.png"]  # a rotated scan is turned upright first
    hits = sg.search("zeppelin maintenance", mode="keyword").hits
    assert [Path(h.path).name for h in hits] == ["scanned.pdf"] and hits[0].page == 1


@needs_ocr
def test_born_digital_pages_are_not_ocrd_and_bad_images_are_recorded(media):
    sg, root = media
    data = sg.reader().catalog
    rows = {r[0]: r[1:] for r in data.db.execute("SELECT name, status, error_kind, meta FROM items")}
    assert "ocr" not in (rows["digital.pdf"][2] or "")
    assert '"ocr": "done"' in rows["scanned.pdf"][2]
    assert rows["broken.png"][0] == "error" and rows["broken.png"][1] == "corrupt"
    assert names(sg, "walruses") == ["digital.pdf"]


def test_exif_date_camera_and_gps(media):
    import json

    sg, root = media
    r = sg.reader().catalog.db.execute("SELECT created, meta FROM items WHERE name = 'holiday.jpg'").fetchone()
    meta = json.loads(r[1])
    assert meta["camera"] == "Canon EOS 80D"
    assert meta["gps_lat"] == pytest.approx(59.33, abs=0.01) and meta["gps_lon"] == pytest.approx(18.07, abs=0.01)
    from datetime import datetime

    assert datetime.fromtimestamp(r[0]).strftime("%Y-%m-%d") == "2021-07-14"


def test_without_ocr_indexing_goes_on_and_status_says_what_to_install(tmp_path):
    from spyglass.app.spyglass import Spyglass
    from conftest import keyword_config

    root = tmp_path / "files"
    root.mkdir()
    render(TEXT).save(root / "scan.png")
    cfg = keyword_config()
    cfg.media.ocr = True
    cfg.media.tesseract = str(tmp_path / "no-such-tesseract")  # as on a machine without it
    sg = Spyglass(tmp_path / "home", config=cfg)
    sg.index([str(root)])
    st = sg.status()
    assert st["by_status"] == {"ok": 1} and st["media"]["ocr_pending"] == 1
    assert "tesseract-ocr" in st["media"]["hint"]
    sg.close()
    if shutil.which("tesseract") and importlib.util.find_spec("pytesseract"):  # once installed, --retry-failed reads it again
        cfg.media.tesseract = ""
        sg.index(retry_failed=True)
        sg.close()
        assert [Path(h.path).name for h in sg.search("invoice 4471", mode="keyword").hits] == ["scan.png"]
        assert sg.status()["media"]["ocr_pending"] == 0


needs_speech = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian's espeak-ng is not installed")


def speak(wav: Path, text: str) -> None:
    """Synthesize ``text`` with espeak-ng; skips the test when the transcription runtime is missing."""
    import subprocess

    from spyglass.extraction import whisper

    if not whisper.available():
        pytest.skip("the audio extra (faster-whisper + packaged Whisper base) is not installed")
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True)


def index_keyword(tmp_path, root: Path):
    from spyglass.app.spyglass import Spyglass
    from conftest import keyword_config

    sg = Spyglass(tmp_path / "home", config=keyword_config())
    sg.index([str(root)])
    return sg


@needs_speech
def test_speech_is_transcribed_with_time_offsets(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    speak(root / "meeting.wav", "Please send the quarterly budget report to the finance team by Friday")
    sg = index_keyword(tmp_path, root)
    hits = sg.search("budget report finance", mode="keyword").hits
    row = sg.reader().catalog.db.execute("SELECT status, error, meta, n_chunks, (SELECT group_concat(text) FROM chunks) FROM items").fetchone()
    assert [Path(h.path).name for h in hits] == ["meeting.wav"], row
    assert hits[0].label == "@ 0:00" and hits[0].type == "audio"
    sg.close()


def test_clock_format():
    from spyglass.extraction.audio import clock

    assert clock(0) == "0:00" and clock(751.9) == "12:31" and clock(3725) == "1:02:05"


def _mux_mp4(wav: Path, out: Path) -> None:
    """A short MP4 clip: a black video track and the speech as AAC audio (muxed with PyAV's FFmpeg)."""
    import av
    import numpy as np

    src = av.open(str(wav))
    dst = av.open(str(out), "w")
    v = dst.add_stream("mpeg4", rate=5)
    v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
    a = dst.add_stream("aac", rate=src.streams.audio[0].rate, layout="mono")
    for i in range(int(src.duration / 1e6 * 5) + 1):
        frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), dtype=np.uint8), format="rgb24")
        frame.pts = i
        for p in v.encode(frame):
            dst.mux(p)
    for p in v.encode():
        dst.mux(p)
    for frame in src.decode(audio=0):
        frame.pts = None
        for p in a.encode(frame):
            dst.mux(p)
    for p in a.encode():
        dst.mux(p)
    dst.close()
    src.close()


@needs_speech
def test_the_audio_track_of_a_video_is_transcribed(tmp_path):
    root = tmp_path / "files"
    root.mkdir()
    speak(tmp_path / "speech.wav", "The harbour committee approved the lighthouse budget on Tuesday")
    _mux_mp4(tmp_path / "speech.wav", root / "meeting.mp4")
    sg = index_keyword(tmp_path, root)
    hits = sg.search("lighthouse budget", mode="keyword").hits
    assert [Path(h.path).name for h in hits] == ["meeting.mp4"]
    assert hits[0].type == "video" and hits[0].label == "@ 0:00"
    sg.close()
