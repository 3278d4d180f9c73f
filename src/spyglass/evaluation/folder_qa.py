"""``ask`` on a small real folder (:file:`folder_qa.yaml`): twenty questions its documents answer and twenty about the
same people and topics that they do not, asked through ``Spyglass.ask`` exactly as a user would, scored with the SQuAD
metrics of :mod:`spyglass.evaluation.qa` (answer found, refusal of the unanswerable, citation precision, span F1).

SQuAD 2.0 measures refusal where questions repeat the paragraph's words; this set measures what a person meets on
their own files, where questions are short and answers often sit one sentence after the words they ask about. The
folder is assembled from ``$SPYGLASS_DATA`` into the cache (mails: their bodies, without the dataset's annotations)
and indexed afresh in a temporary data directory with the given configuration.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from spyglass.core.config import Config
from spyglass.core.progress import NullProgress, Progress

SPEC = Path(__file__).with_name("folder_qa.yaml")


def load_spec() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(SPEC.read_text())


def assemble(data: Path, folder: Path) -> Path:
    """Copy the set's documents from the shared data folder into ``folder`` (names only, never paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in load_spec()["documents"]:
        if isinstance(entry, dict):
            mails = data / entry["mails"]
            for f in sorted(p.name for p in mails.iterdir())[: entry["first"]]:
                body = (mails / f).read_text(encoding="utf-8", errors="replace").split("\n@subject", 1)[0]
                (folder / f"mail-{Path(f).stem}.txt").write_text(body.strip() + "\n")
        else:
            src = data / entry
            (folder / src.name).write_bytes(src.read_bytes())
    return folder


def questions() -> list[dict[str, Any]]:
    spec = load_spec()
    pos = [{"id": f"a{i}", "question": x["q"], "answers": x["a"], "impossible": False}
           for i, x in enumerate(spec["answerable"])]
    neg = [{"id": f"u{i}", "question": q, "answers": [], "impossible": True} for i, q in enumerate(spec["unanswerable"])]
    return pos + neg


def eval_folder_qa(data: Path, config: Config | None = None, backend: str | None = None, curve: bool = False,
                   progress: Progress | None = None) -> dict[str, Any]:
    """Index the folder with ``config`` and ask every question; the metrics of :func:`spyglass.evaluation.qa.eval_qa`."""
    from spyglass.app.spyglass import Spyglass
    from spyglass.evaluation.qa import ask_all

    config = config or Config()
    with tempfile.TemporaryDirectory(prefix="spyglass-folder-qa-") as tmp:
        docs = assemble(data, Path(tmp) / "docs")
        n_docs = len(list(docs.iterdir()))
        sg = Spyglass(Path(tmp) / "home", config=config)
        try:
            sg.index([str(docs)], wait=True)
            res = ask_all(sg, questions(), backend, progress or NullProgress(), None, curve)
        finally:
            sg.close()
    return {"dataset": "folder-qa", "documents": n_docs, **res}
