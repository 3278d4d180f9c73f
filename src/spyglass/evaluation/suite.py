"""The retrieval suite (issue 16): every collection found in the shared data — BEIR SciFact, SQuAD (question → its
paragraph), and each BEIR folder of ``retrieval-dev`` (Cranfield, CISI, XQuAD en/de/zh) — measured in keyword,
semantic and hybrid mode with one default configuration (no per-collection settings: the test suite checks that the
configuration object is the same for every collection)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spyglass.core.config import Config

MODES = ("keyword", "semantic", "hybrid")


def collections(data: Path, cache: Path) -> dict[str, Path]:
    """The suite's collections that are present, by name."""
    from spyglass.evaluation.beir import squad_to_beir

    out: dict[str, Path] = {}
    if (data / "beir" / "scifact").is_dir():
        out["scifact"] = data / "beir" / "scifact"
    squad = data / "qa" / "squad2-dev" / "dev-v2.0.json"
    if squad.exists():
        out["squad"] = squad_to_beir(squad, cache / "squad2-dev-beir")
    dev = data / "retrieval-dev"
    for d in sorted(dev.iterdir()) if dev.is_dir() else []:
        if (d / "corpus.jsonl").exists() and (d / "qrels").is_dir():
            out[d.name] = d
    return out


def run_suite(data: Path, cache: Path, config: Config | None = None, modes: tuple[str, ...] = MODES,
              progress: Any = None, metric: str = "ndcg@10") -> dict[str, Any]:
    """``{collection: {mode: metric}}`` plus the mean per mode and, per collection, hybrid − max(keyword, semantic)."""
    from spyglass.evaluation.runner import eval_beir

    config = config or Config()
    table: dict[str, dict[str, float]] = {}
    for name, path in collections(data, cache).items():
        table[name] = {m: eval_beir(path, mode=m, config=config, cache=cache, progress=progress)[metric]
                       for m in modes}
    means = {m: round(sum(r[m] for r in table.values()) / len(table), 4) for m in modes} if table else {}
    gaps = {n: round(r["hybrid"] - max(r["keyword"], r["semantic"]), 4) for n, r in table.items()
            if {"hybrid", "keyword", "semantic"} <= set(r)}
    return {"metric": metric, "collections": table, "mean": means, "hybrid_gap": gaps}


def render(result: dict[str, Any]) -> str:
    modes = list(result["mean"])
    lines = ["| collection | " + " | ".join(modes) + " | hybrid − best part |", "|---|" + "---|" * (len(modes) + 1)]
    for name, row in result["collections"].items():
        gap = result["hybrid_gap"].get(name)
        lines.append(f"| {name} | " + " | ".join(f"{row[m]:.4f}" for m in modes)
                     + f" | {'' if gap is None else f'{gap:+.4f}'} |")
    lines.append("| **mean** | " + " | ".join(f"{result['mean'][m]:.4f}" for m in modes) + " | |")
    return "\n".join(lines)
