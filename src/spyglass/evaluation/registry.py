"""The registry of expected results (``expected.yaml``): dataset × mode → metric, tolerance.

``spyglass eval check`` re-runs the rows and prints OK/FAIL; ``spyglass eval table`` renders the same rows as the table
in BENCHMARKS.md (a test checks the two agree). Rows marked ``ci: true`` run in the test suite.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from spyglass.core.errors import SpyglassError

START, END = "<!-- registry:start -->", "<!-- registry:end -->"


@dataclass
class Row:
    id: str
    kind: str  # beir | squad (retrieval) | squad-qa, folder-qa (answers; mode = the answer backend) | folders, recs, ltr,
    # ltr-personal (mode = method)
    dataset: str  # relative to the data folder
    mode: str
    metric: str
    expected: float
    tolerance: float
    fusion: str | None = None
    rerank: str | None = None
    ci: bool = False
    reference: str = ""  # published or peer numbers shown beside ours
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def load_registry(path: Path | None = None) -> list[Row]:
    import yaml

    text = path.read_text() if path else resources.files("spyglass.evaluation").joinpath("expected.yaml").read_text()
    rows = yaml.safe_load(text)["rows"]
    return [Row(**r) for r in rows]


ENV_DATA = "SPYGLASS_DATA"
DATA_HINT = (f"set {ENV_DATA} to the shared data folder (the one holding beir/, qa/, formats/), or put it at "
             "../shared/data beside the checkout")


def find_data_dir() -> Path | None:
    """The shared evaluation data: ``$SPYGLASS_DATA``, else ``shared/data`` beside the checkout (or beside any folder
    above this file, for an installed copy). ``None`` when there is none."""
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser()
    for parent in Path(__file__).resolve().parents:
        cand = parent.parent / "shared" / "data"
        if cand.is_dir():
            return cand
    return None


def data_dir(explicit: Path | None = None) -> Path:
    """``explicit``, else :func:`find_data_dir`; a clear error when neither exists."""
    found = explicit or find_data_dir()
    if found is None or not found.is_dir():
        where = f" ({found} does not exist)" if found else ""
        raise SpyglassError(f"shared data not found{where}: pass --data DIR or {DATA_HINT}")
    return found


def resolve_dataset(path: Path, kinds: tuple[str, ...] = ("beir",)) -> Path:
    """A dataset argument as given (``../shared/data/beir/scifact``), or named inside the shared data folder:
    ``beir/scifact`` or just ``scifact`` (looked up under each of ``kinds``); a path through some other
    ``.../data/`` folder that does not exist here is looked up by its part after ``data/``."""
    if path.exists():
        return path
    data = find_data_dir()
    tried = [path]
    if data is not None:
        parts = path.parts
        tail = Path(*parts[len(parts) - parts[::-1].index("data"):]) if "data" in parts[:-1] else None
        rel = [] if path.is_absolute() else [data / path, *(data / k / path for k in kinds)]
        for cand in rel + ([data / tail] if tail else []):
            if cand.exists():
                return cand
            tried.append(cand)
    raise SpyglassError(f"no dataset at {', '.join(map(str, tried))}: give its folder or file, or a name inside the "
                        f"shared data folder (e.g. scifact); {DATA_HINT}")


def _dataset_path(row: Row, data: Path, cache: Path) -> Path:
    from spyglass.evaluation.beir import squad_to_beir

    if row.kind == "squad":
        return squad_to_beir(data / row.dataset, cache / "squad2-dev-beir")
    return data / row.dataset


def check_rows(rows: list[Row], data_dir: Path | None = None, cache: Path | None = None,
               progress: Any = None) -> list[dict[str, Any]]:
    from spyglass.evaluation.beir import default_cache
    from spyglass.evaluation.runner import eval_beir

    data = globals()["data_dir"](data_dir)
    cache = cache or default_cache()
    done: dict[tuple, dict[str, Any]] = {}
    out = []
    for r in rows:
        key = (r.kind, r.dataset, r.mode, r.fusion, r.rerank)
        if r.kind in ("folders", "recs", "ltr", "ltr-personal"):
            key = (r.kind, r.dataset)  # one run measures every method
        if key not in done and r.kind == "asr":
            from spyglass.evaluation.media import eval_asr

            done[key] = eval_asr(data / r.dataset)
        elif key not in done and r.kind == "ocr":
            from spyglass.evaluation.media import eval_ocr

            done[key] = eval_ocr(data / r.dataset)
        elif key not in done and r.kind == "recs":
            from spyglass.evaluation.recs import eval_recs

            done[key] = eval_recs(data / r.dataset, progress=progress)
        elif key not in done and r.kind == "ltr":
            from spyglass.evaluation.ltr_clicks import eval_ltr

            done[key] = eval_ltr(data / r.dataset, sessions=int(r.extra.get("sessions", 100)),
                                 cache=cache, progress=progress)
        elif key not in done and r.kind == "ltr-personal":
            from spyglass.evaluation.ltr_personal import eval_ltr_personal

            done[key] = eval_ltr_personal(data / r.dataset, cache=cache, progress=progress)
        elif key not in done and r.kind == "folders":
            from spyglass.evaluation.folders import eval_folders

            done[key] = eval_folders(data / r.dataset, cache=cache, progress=progress)
        elif key not in done and r.kind == "squad-qa":
            from spyglass.evaluation.qa import eval_squad_qa

            done[key] = eval_squad_qa(data / r.dataset, cache=cache, split="test",
                                      max_questions=int(r.extra.get("questions", 400)), backend=r.mode,
                                      progress=progress)
        elif key not in done and r.kind == "folder-qa":
            from spyglass.evaluation.folder_qa import eval_folder_qa

            done[key] = eval_folder_qa(data, backend=r.mode, progress=progress)
        elif key not in done:
            ds = _dataset_path(r, data, cache)
            done[key] = eval_beir(ds, mode=r.mode, rerank=r.rerank, cache=cache, progress=progress, fusion=r.fusion)
        by_method = r.kind in ("folders", "recs", "ltr", "ltr-personal")
        measured = done[key][f"{r.mode}_{r.metric}"] if by_method else done[key][r.metric]
        ok = abs(measured - r.expected) <= r.tolerance
        out.append({"id": r.id, "metric": r.metric, "expected": r.expected, "tolerance": r.tolerance,
                    "measured": measured, "status": "OK" if ok else "FAIL", "result": done[key]})
    return out


def render_table(rows: list[Row]) -> str:
    lines = [
        "| id | dataset | mode | metric | Spyglass (expected ± tolerance) | reference | CI |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mode = r.mode + (f" ({r.fusion})" if r.fusion else "") + (f" + {r.rerank}" if r.rerank else "")
        lines.append(f"| {r.id} | {r.dataset} | {mode} | {r.metric} | {r.expected:.4f} ± {r.tolerance} | "
                     f"{r.reference} | {'yes' if r.ci else ''} |")
    return "\n".join(lines)


def write_table(md: Path, rows: list[Row]) -> None:
    text = md.read_text()
    if START not in text or END not in text:
        raise SpyglassError(f"{md} has no {START} … {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    md.write_text(f"{head}{START}\n{render_table(rows)}\n{END}{tail}")
