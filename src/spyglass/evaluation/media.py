"""``spyglass eval asr`` and ``spyglass eval ocr``: word and character error rates on real public data.

* ASR: LibriSpeech test-clean utterances (with their transcripts) and whisper's ``jfk.flac``, transcribed by the same
  code that indexes recordings (:mod:`spyglass.extraction.whisper`). WER = word edit distance / reference words, after
  lower-casing and removing punctuation (no number normalisation: "17" against "seventeen" counts as an error).
* OCR: born-digital PDFs of the real-documents corpus, whose text layer is the reference: the first page is rendered
  at 200 dpi and OCR'd as if it were a scan. CER = character edit distance / reference characters, whitespace
  collapsed.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path
from typing import Any

from spyglass.core.config import MediaSettings

JFK = ("And so my fellow Americans, ask not what your country can do for you, ask what you can do for your "
       "country.")


def edit_distance(a: list | str, b: list | str) -> int:
    """Levenshtein distance, one numpy row at a time: ``new[j] = min(prev[j] + 1, prev[j-1] + cost, new[j-1] + 1)``,
    the last term resolved for the whole row by a running minimum of ``t[k] - k`` (then ``+ j``)."""
    import numpy as np

    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    codes: dict = {}
    bb = np.array([codes.setdefault(x, len(codes)) for x in b])
    idx = np.arange(len(b) + 1)
    prev = idx.copy()
    for i, x in enumerate(a, 1):
        cost = (bb != codes.get(x, -1)).astype(np.int64)
        t = np.empty(len(b) + 1, dtype=np.int64)
        t[0] = i
        t[1:] = np.minimum(prev[1:] + 1, prev[:-1] + cost)
        prev = np.minimum.accumulate(t - idx) + idx
    return int(prev[-1])


def _words(s: str) -> list[str]:
    return re.sub(r"[^\w\s']", " ", s.lower()).split()


def eval_asr(speech_dir: Path) -> dict[str, Any]:
    from spyglass.extraction import whisper

    if not whisper.available():
        from spyglass.core.errors import MissingExtraError

        raise MissingExtraError("the ASR evaluation", "audio", "faster_whisper", whisper.AUDIO_HINT)
    cases: list[tuple[Path, str]] = []
    for trans in sorted(speech_dir.rglob("*.trans.txt")):
        for line in trans.read_text().splitlines():
            uid, _, text = line.partition(" ")
            audio = trans.parent / f"{uid}.flac"
            if audio.exists():
                cases.append((audio, text))
    jfk = next(speech_dir.rglob("jfk.flac"), None)
    if jfk is not None:
        cases.append((jfk, JFK))
    model = str(whisper.packaged_model_dir(whisper.default_cache()))
    errors = words = 0
    audio_s = wall = 0.0
    per = []
    for path, ref in cases:
        t0 = time.perf_counter()
        segs, info = whisper.transcribe(str(path), model, "en")
        wall += time.perf_counter() - t0
        audio_s += float(info.duration)
        hyp = " ".join(s.text for s in segs)
        e = edit_distance(_words(hyp), _words(ref))
        errors += e
        words += len(_words(ref))
        per.append({"file": path.name, "wer": round(e / max(1, len(_words(ref))), 4), "hypothesis": hyp.strip()})
    return {"model": "whisper-base (int8, CTranslate2)", "utterances": len(cases), "words": words,
            "wer": round(errors / max(1, words), 4), "audio_seconds": round(audio_s, 1),
            "real_time_factor": round(wall / max(audio_s, 1e-9), 3), "per_file": per}


def eval_ocr(docs_dir: Path, max_docs: int = 12, dpi: int = 200) -> dict[str, Any]:
    import pypdfium2 as pdfium

    from spyglass.extraction.ocr import INSTALL_HINT, ocr_available, ocr_image

    if not ocr_available():
        from spyglass.core.errors import SpyglassError

        raise SpyglassError(INSTALL_HINT)
    media = MediaSettings()
    errors = chars = 0
    wall = 0.0
    per = []
    for pdf_path in sorted(docs_dir.rglob("*.pdf")):
        if len(per) >= max_docs:
            break
        try:
            pdf = pdfium.PdfDocument(str(pdf_path))
        except pdfium.PdfiumError:
            continue
        try:
            page = pdf[0]
            tp = page.get_textpage()
            ref = " ".join(tp.get_text_bounded().split())
            tp.close()
            if len(ref) < 200:  # a scan, or almost empty: no reference to score against
                page.close()
                continue
            image = page.render(scale=dpi / 72).to_pil()
            page.close()
        finally:
            pdf.close()
        t0 = time.perf_counter()
        hyp = " ".join(ocr_image(image, media.ocr_languages, 120).text.split())
        wall += time.perf_counter() - t0
        e = edit_distance(hyp, ref)
        errors += e
        chars += len(ref)
        per.append({"file": pdf_path.name, "cer": round(e / len(ref), 4), "chars": len(ref)})
    cers = sorted(p["cer"] for p in per)
    return {"engine": "tesseract (LSTM, eng)", "pages": len(per), "characters": chars,
            "cer": round(errors / max(1, chars), 4),
            "cer_median": round(statistics.median(cers), 4) if cers else None,  # the mean of the middle two when even
            "seconds_per_page": round(wall / max(1, len(per)), 2), "per_file": per}
