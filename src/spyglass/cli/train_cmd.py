"""``spyglass train answerer`` and ``spyglass train reranker``: train Spyglass's own models from public data (needs the
``train`` extra: torch). ``spyglass train ranker`` (learning from your activity) is in :mod:`learning_cmd`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from spyglass.cli.learning_cmd import train_app
from spyglass.cli.main import JsonOpt, _run
from spyglass.cli.output import err, out, print_json

DataOpt = typer.Option(None, "--data", help="The shared data folder [default: $SPYGLASS_DATA or ../shared/data "
                                            "beside the checkout]")
OutOpt = typer.Option(..., "--out", "-o", help="Folder for the ONNX files (fp32 and int8) and the model card "
                                               "(card.md, card.json).")
EpochsOpt = typer.Option(None, "--epochs", min=1, help="Passes over the training pairs [default: answerer 3, reranker 2].")
LayersOpt = typer.Option(None, "--layers", min=0, max=6,
                         help="Train a head of this many transformer layers over the frozen packaged MiniLM "
                              "instead [default: both models fine-tune all of MiniLM but its word embeddings].")
ShipOpt = typer.Option(False, "--ship", help="Also copy the chosen files and the model card into the package "
                                             "(spyglass/models/weights) and print their pins.")
MaxQOpt = typer.Option(None, "--max-questions", min=1, help="Only the first N training questions per source (a "
                                                            "quick run).")
MaxValOpt = typer.Option(None, "--max-val", min=1, help="Only N held-out questions measured.")
ThreadsOpt = typer.Option(2, "--threads", min=1, help="torch and onnxruntime threads.")
SeedOpt = typer.Option(None, "--seed", help="Seed of the initial heads, dropout and batch order [default: 13]; "
                                            "another seed measures how much of a difference is noise.")


class Reads(str, Enum):
    sentence = "sentence"
    neighbours = "neighbours"
    passage = "passage"


def _settings(task: str, epochs: Optional[int], layers: Optional[int], threads: int, max_length: Optional[int],
              reads: Optional[str] = None, seed: Optional[int] = None, listwise: Optional[float] = None):
    from spyglass.training.pipeline import default_settings

    s = default_settings(task, reads)
    s.threads = threads
    if seed is not None:
        s.seed = seed
    if listwise is not None:
        s.listwise = listwise
    if epochs is not None:
        s.epochs = epochs
    if layers is not None:  # a head over the frozen MiniLM, never the whole model
        s.layers, s.full = layers, False
    if max_length is not None:
        s.max_length = max_length
    return s


def _report(card: dict, json_: bool) -> None:
    if json_:
        print_json(card)
        return
    steps = card["training"]["steps"]
    out.print(f"{card['model']}: {steps} steps in {card['wall_seconds']['total']:.0f}s; ships {card['ship']}")
    for part, key in card["ship"].items():
        f = card["files"][key]
        out.print(f"  {part}: {f['file']}, {f['bytes']} bytes, sha256 {f['sha256']}")
    for variant, m in card["metrics"].items():
        shown = {k: v for k, v in m.items() if not isinstance(v, (list, dict))}
        out.print(f"  {variant}: " + " ".join(f"{k}={v}" for k, v in shown.items()))


def _ship(out_dir: Path) -> None:
    from spyglass.training.pipeline import ship

    for name, (size, digest) in ship(out_dir).items():
        err.print(f"packaged {name}: record in spyglass.models.answerer.PINNED: {name!r}: ({size}, {digest!r}),")


def _train(task: str, out_dir: Path, data: Optional[Path], datasets, settings, json_: bool, ship: bool) -> None:
    """Run the training pipeline for ``task`` on ``datasets(shared data folder)``, report it, and ship it if asked."""
    from spyglass.evaluation.registry import data_dir
    from spyglass.training.pipeline import run

    def body() -> None:
        card = run(task, out_dir, datasets(data_dir(data)), settings, log=lambda m: err.print(m))
        _report(card, json_)
        if ship:
            _ship(out_dir)

    _run(body)


@train_app.command("answerer")
def answerer(
    out_dir: Path = OutOpt,
    data: Optional[Path] = DataOpt,
    epochs: Optional[int] = EpochsOpt,
    layers: Optional[int] = LayersOpt,
    ship: bool = ShipOpt,
    max_length: Optional[int] = typer.Option(
        None, "--max-length", min=16,
        help="Tokens per (question, sentence) pair [default: 96; --reads neighbours: 192, passage: 256]."),
    max_questions: Optional[int] = MaxQOpt,
    max_val: Optional[int] = MaxValOpt,
    threads: int = ThreadsOpt,
    reads: Optional[Reads] = typer.Option(None, "--reads", help="What the reader reads after the question: 'sentence' "
                                        "(each candidate sentence, what ships), 'neighbours' (each candidate "
                                        "sentence marked between the ones before and after it) or 'passage' (each "
                                        "retrieved passage whole; measured worse: BENCHMARKS.md) [default: sentence]."),
    listwise: Optional[float] = typer.Option(
        None, "--listwise", min=0.0, help="Weight of the listwise loss: each question's sentences compete in one "
                                          "softmax with a 'no answer' slot (measured, not shipped: BENCHMARKS.md) [default: 0]."),
    seed: Optional[int] = SeedOpt,
    json_: bool = JsonOpt,
) -> None:
    """Train the answer model (answerability + answer span) on SQuAD 2.0's tune half, measure it on held-out tune
    questions, export it to ONNX (fp32 and int8) and write its model card. Use it with [answer] answerability =
    OUT/answerability.onnx and [answer] reader = OUT/reader-int8.onnx, or --ship it.
    Needs the train extra: pip install 'spyglass[train]'."""
    from spyglass.training.pipeline import DataSettings

    _train("answerer", out_dir, data, lambda d: DataSettings(
        squad=d / "qa" / "squad2-dev" / "dev-v2.0.json", max_questions=max_questions, max_val=max_val),
        _settings("answerer", epochs, layers, threads, max_length, reads.value if reads else None, seed, listwise),
        json_, ship)


@train_app.command("reranker")
def reranker(
    out_dir: Path = OutOpt,
    data: Optional[Path] = DataOpt,
    epochs: Optional[int] = EpochsOpt,
    layers: Optional[int] = LayersOpt,
    ship: bool = ShipOpt,
    max_length: Optional[int] = typer.Option(None, "--max-length", min=16, help="Tokens per (query, passage) pair "
                                                                               "[default: 192]."),
    max_questions: Optional[int] = MaxQOpt,
    max_val: Optional[int] = MaxValOpt,
    threads: int = ThreadsOpt,
    seed: Optional[int] = SeedOpt,
    json_: bool = JsonOpt,
) -> None:
    """Train the reranker (a query-passage relevance score) on SciFact's train qrels and SQuAD's tune half, measure it
    on held-out queries, export it to ONNX and write its model card. Use it with [rerank] cross_encoder = OUT/reranker-int8.onnx, or --ship it.
    Needs the train extra: pip install 'spyglass[train]'."""
    from spyglass.training.pipeline import DataSettings

    _train("reranker", out_dir, data, lambda d: DataSettings(
        squad=d / "qa" / "squad2-dev" / "dev-v2.0.json", scifact=d / "beir" / "scifact",
        retrieval_dev=d / "retrieval-dev", max_questions=max_questions, max_val=max_val),
        _settings("reranker", epochs, layers, threads, max_length, seed=seed), json_, ship)
