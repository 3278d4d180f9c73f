"""``spyglass eval``: measure retrieval on public data; check the registry of expected results."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from spyglass.cli.main import JsonOpt, _run, app
from spyglass.cli.output import RichProgress, err, esc, out, print_json

eval_app = typer.Typer(help="Evaluate on public data (BEIR, SQuAD) and check the results registry.",
                       no_args_is_help=True)
app.add_typer(eval_app, name="eval")

CacheOpt = typer.Option(None, "--cache", help="Where evaluation indexes are kept [default: ~/.cache/spyglass/eval]")


def _print(res: dict, json_: bool) -> None:
    if json_:
        print_json(res)
    else:
        out.print(" ".join(f"{k}={v}" for k, v in res.items()), markup=False)


def _data(path: Path, *kinds: str) -> Path:
    """A dataset argument: the path as given, or a name inside the shared data folder ($SPYGLASS_DATA)."""
    from spyglass.evaluation.registry import resolve_dataset

    return resolve_dataset(path, kinds or ("beir",))


def _config(home: Optional[Path]):
    from spyglass.core.config import Config, load_config

    return load_config(home / "config.toml") if home else Config()


@eval_app.command("beir")
def beir(
    dataset: Path = typer.Argument(..., help="A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv), or its "
                                             "name in the shared data folder $SPYGLASS_DATA: scifact, "
                                             "retrieval-dev/cisi, ..."),
    mode: str = typer.Option("hybrid", "--mode", "-m", help="keyword, semantic or hybrid."),
    fusion: Optional[str] = typer.Option(None, "--fusion", help="normalized (the default), zscore or rrf (hybrid)."),
    rerank: Optional[str] = typer.Option(None, "--rerank", help="Second stage to evaluate."),
    cache: Optional[Path] = CacheOpt,
    config_home: Optional[Path] = typer.Option(None, "--config-from", help="Use this data directory's config.toml."),
    max_queries: Optional[int] = typer.Option(None, "--max-queries", help="Only the first N queries (slow stages)."),
    json_: bool = JsonOpt,
) -> None:
    """Index a BEIR dataset through the normal pipeline (cached) and report nDCG@10, Recall@100, MRR@10, speed."""
    from spyglass.evaluation.runner import eval_beir

    def body() -> None:
        _print(eval_beir(_data(dataset, "beir", "retrieval-dev"), mode=mode, rerank=rerank, config=_config(config_home), cache=cache,
                         progress=RichProgress(), fusion=fusion, max_queries=max_queries), json_)

    _run(body)


@eval_app.command("suite")
def suite(
    data: Optional[Path] = typer.Option(None, "--data", help="The shared data folder [default: found at ../shared]"),
    cache: Optional[Path] = CacheOpt,
    config_home: Optional[Path] = typer.Option(None, "--config-from", help="Use this data directory's config.toml."),
    json_: bool = JsonOpt,
) -> None:
    """The retrieval suite: every collection found (SciFact, SQuAD, retrieval-dev/*) in keyword, semantic and
    hybrid mode, with one configuration; nDCG@10, the mean, and how hybrid compares with its best part."""
    from spyglass.evaluation.beir import default_cache
    from spyglass.evaluation.registry import data_dir
    from spyglass.evaluation.suite import render, run_suite

    def body() -> None:
        res = run_suite(data_dir(data), cache or default_cache(), _config(config_home), progress=RichProgress())
        if json_:
            print_json(res)
        else:
            out.print(render(res), markup=False)

    _run(body)


@eval_app.command("squad")
def squad(
    squad_json: Path = typer.Argument(..., help="SQuAD 2.0 JSON (e.g. qa/squad2-dev/dev-v2.0.json in $SPYGLASS_DATA)."),
    mode: str = typer.Option("hybrid", "--mode", "-m", help="keyword, semantic or hybrid."),
    fusion: Optional[str] = typer.Option(None, "--fusion", help="normalized (the default), zscore or rrf (hybrid)."),
    rerank: Optional[str] = typer.Option(None, "--rerank", help="Second stage to evaluate."),
    cache: Optional[Path] = CacheOpt,
    json_: bool = JsonOpt,
) -> None:
    """Retrieval on SQuAD: each answerable question should find the paragraph it was asked about."""
    from spyglass.evaluation.beir import default_cache, squad_to_beir
    from spyglass.evaluation.runner import eval_beir

    def body() -> None:
        c = cache or default_cache()
        ds = squad_to_beir(_data(squad_json, "qa"), c / "squad2-dev-beir")
        _print(eval_beir(ds, mode=mode, rerank=rerank, cache=c, progress=RichProgress(), fusion=fusion), json_)

    _run(body)


@eval_app.command("folders")
def folders(
    squad_json: Path = typer.Argument(..., help="SQuAD 2.0 JSON: each paragraph's article is its folder."),
    cache: Optional[Path] = CacheOpt,
    json_: bool = JsonOpt,
) -> None:
    """Folder suggestion (`spyglass where`): top-1/top-3 accuracy on a held-out half, against the majority folder and
    TF-IDF + logistic regression."""
    from spyglass.evaluation.folders import eval_folders

    def body() -> None:
        _print(eval_folders(_data(squad_json, "qa"), cache=cache, progress=RichProgress()), json_)

    _run(body)


@eval_app.command("ltr")
def ltr(
    dataset: Path = typer.Argument(..., help="A BEIR folder with train and test qrels (e.g. scifact)."),
    sessions: int = typer.Option(100, "--sessions", min=1, help="Simulated sessions per training query."),
    click_model: str = typer.Option("pbm", "--click-model", help="pbm (position-based) or cascade."),
    eta: float = typer.Option(1.0, "--eta", help="Position bias: examination (1/k)^eta."),
    cache: Optional[Path] = CacheOpt,
    json_: bool = JsonOpt,
) -> None:
    """Learning to rank from simulated clicks: nDCG@10 on test queries of hybrid alone and of LambdaMART trained on
    naive click labels, on position-bias-corrected labels (EM and true propensities), and on the qrels."""
    from spyglass.evaluation.ltr_clicks import eval_ltr

    def body() -> None:
        _print(eval_ltr(_data(dataset), sessions=sessions, click_model=click_model, eta=eta, cache=cache,
                        progress=RichProgress()), json_)

    _run(body)


@eval_app.command("recs")
def recs(
    dataset: Path = typer.Argument(..., help="movielens-latest-small folder or SASRec's Video.txt (or its folder)."),
    json_: bool = JsonOpt,
) -> None:
    """Next-item recommendation, leave-last-out with 100 sampled negatives: HR@10 and NDCG@10 of popularity,
    item-kNN, implicit ALS and a Markov chain."""
    from spyglass.evaluation.recs import eval_recs

    def body() -> None:
        _print(eval_recs(_data(dataset, "recs"), progress=RichProgress()), json_)

    _run(body)


@eval_app.command("ltr-personal")
def ltr_personal(
    dataset: Path = typer.Argument(..., help="A BEIR folder with train and test qrels (e.g. beir/scifact)."),
    users: int = typer.Option(30, "--users", min=2, help="Simulated users."),
    library: int = typer.Option(25, "--library", min=1, help="Documents each user used before."),
    seed: int = typer.Option(1, "--seed"),
    cache: Optional[Path] = CacheOpt,
    json_: bool = JsonOpt,
) -> None:
    """Personal ranking: simulated users who also re-find their own documents; the ranker trained from their clicks
    with and without usage features, against hybrid alone."""
    from spyglass.evaluation.ltr_personal import eval_ltr_personal

    def body() -> None:
        _print(eval_ltr_personal(_data(dataset), users=users, library=library, seed=seed, cache=cache,
                                 progress=RichProgress()), json_)

    _run(body)


@eval_app.command("asr")
def asr(
    speech_dir: Path = typer.Argument(..., help="A folder with LibriSpeech *.trans.txt + .flac files (and jfk.flac)."),
    json_: bool = JsonOpt,
) -> None:
    """Speech to text: word error rate and real-time factor of the transcription used for recordings."""
    from spyglass.evaluation.media import eval_asr

    def body() -> None:
        _print(eval_asr(_data(speech_dir, "")), json_)

    _run(body)


@eval_app.command("ocr")
def ocr(
    docs_dir: Path = typer.Argument(..., help="A folder of born-digital PDFs (their text layer is the reference)."),
    json_: bool = JsonOpt,
) -> None:
    """OCR: character error rate of first pages rendered at 200 dpi against their own text layer."""
    from spyglass.evaluation.media import eval_ocr

    def body() -> None:
        _print(eval_ocr(_data(docs_dir, "formats")), json_)

    _run(body)


@eval_app.command("images")
def images(
    dataset: Path = typer.Argument(..., help="Flickr8k test folder (images_224/ and text/Flickr8k.token.txt)."),
    config_home: Optional[Path] = typer.Option(None, "--config-from",
                                               help="Take the [media] clip_* settings from this data directory."),
    image_model: Optional[Path] = typer.Option(None, "--image-model", help="Image tower .onnx (else from config)."),
    text_model: Optional[Path] = typer.Option(None, "--text-model", help="Text tower .onnx (else from config)."),
    tokenizer: Optional[Path] = typer.Option(None, "--tokenizer", help="tokenizer.json of the text tower."),
    max_queries: int = typer.Option(0, "--max-queries", "-n", min=0, help="Evaluate on this many captions (0 = all)."),
    cache: Optional[Path] = CacheOpt,
    json_: bool = JsonOpt,
) -> None:
    """Photo search by description: text->image Recall@1/5/10 on Flickr8k with the configured text-image model."""
    from spyglass.evaluation.beir import default_cache
    from spyglass.evaluation.images import eval_images

    def body() -> None:
        media = _config(config_home).media
        if image_model:
            media.clip_image_model = str(image_model)
        if text_model:
            media.clip_text_model = str(text_model)
        if tokenizer:
            media.clip_tokenizer = str(tokenizer)
        _print(eval_images(_data(dataset, "images"), media, cache or default_cache(), max_queries, progress=RichProgress()), json_)

    _run(body)


@eval_app.command("qa")
def qa(
    squad_json: Path = typer.Argument(..., help="SQuAD 2.0 JSON (e.g. qa/squad2-dev/dev-v2.0.json in $SPYGLASS_DATA)."),
    backend: Optional[str] = typer.Option(None, "--backend", "-b",
                                          help="extractive, openai or llama-cpp [default: [answer] backend]"),
    split: str = typer.Option("test", "--split", help="test (reported), tune (used to set thresholds and train the "
                                                     "answer model), val (its held-out tenth) or all."),
    max_questions: int = typer.Option(200, "--max-questions", "-n", min=2,
                                      help="Questions asked, half answerable, half not."),
    judge: bool = typer.Option(False, "--judge", help="Also grade answers with an LLM judge (the [answer] endpoint, "
                                                      "or --judge-endpoint)."),
    judge_endpoint: Optional[str] = typer.Option(None, "--judge-endpoint", help="OpenAI-compatible URL of the judge."),
    judge_model: Optional[str] = typer.Option(None, "--judge-model", help="The judge's model name."),
    config_home: Optional[Path] = typer.Option(None, "--config-from", help="Use this data directory's config.toml."),
    curve: bool = typer.Option(False, "--curve", help="Also the refusal / answer-found curve over answerability "
                                                     "thresholds (the answer model)."),
    cache: Optional[Path] = CacheOpt,
    json_: bool = JsonOpt,
) -> None:
    """Answer quality on SQuAD 2.0: refusal of unanswerable questions, answer found, citation precision, span F1, exact
    match, time to first token and total; with --judge, the share an LLM judge grades correct."""
    from spyglass.evaluation.qa import eval_squad_qa

    def body() -> None:
        config = _config(config_home)
        grader = None
        if judge or judge_endpoint:
            import dataclasses

            from spyglass.app.ask import make_chat

            a = dataclasses.replace(config.answer, endpoint=judge_endpoint or config.answer.endpoint,
                                    model=judge_model or config.answer.model, temperature=0.0, max_tokens=5)
            if not a.endpoint:
                raise typer.BadParameter("the judge needs an endpoint: --judge-endpoint URL or [answer] endpoint")
            grader = make_chat(a, "openai")
        _print(eval_squad_qa(_data(squad_json, "qa"), config=config, cache=cache, split=split,
                             max_questions=max_questions, backend=backend, progress=RichProgress(), judge=grader,
                             curve=curve), json_)

    _run(body)


@eval_app.command("folder-qa")
def folder_qa(
    data: Optional[Path] = typer.Option(None, "--data", help="The shared data folder [default: $SPYGLASS_DATA or "
                                                             "../shared/data beside the checkout]"),
    backend: Optional[str] = typer.Option(None, "--backend", "-b",
                                          help="extractive, openai or llama-cpp [default: [answer] backend]"),
    config_home: Optional[Path] = typer.Option(None, "--config-from", help="Use this data directory's config.toml."),
    curve: bool = typer.Option(False, "--curve", help="Also the refusal / answer-found curve over answerability "
                                                     "thresholds (the answer model)."),
    json_: bool = JsonOpt,
) -> None:
    """Answer quality on a small real folder (an article, an essay, twelve mails; 20 questions they answer, 20 they do
    not): what `spyglass ask` meets on a user's own files, next to SQuAD's `eval qa`."""
    from spyglass.evaluation.folder_qa import eval_folder_qa
    from spyglass.evaluation.registry import data_dir

    def body() -> None:
        _print(eval_folder_qa(data_dir(data), config=_config(config_home), backend=backend, curve=curve,
                              progress=RichProgress()), json_)

    _run(body)


@eval_app.command("check")
def check(
    ci: bool = typer.Option(False, "--ci", help="Only the rows marked for CI."),
    data: Optional[Path] = typer.Option(None, "--data", help="The shared data folder [default: $SPYGLASS_DATA or "
                                                             "../shared/data beside the checkout]"),
    only: Optional[str] = typer.Option(None, "--only", help="Only rows whose id contains this."),
    cache: Optional[Path] = CacheOpt,
    json_: bool = JsonOpt,
) -> None:
    """Re-run the registry's expected results and print OK or FAIL per row (exit code 1 on any FAIL)."""
    from spyglass.evaluation.registry import check_rows, load_registry

    def body() -> None:
        rows = [r for r in load_registry() if (r.ci or not ci) and (only is None or only in r.id)]
        results = check_rows(rows, data_dir=data, cache=cache, progress=RichProgress())
        failed = [r for r in results if r["status"] != "OK"]
        if json_:
            print_json({"rows": results, "failed": len(failed)})
        else:
            for r in results:
                mark = "[green]OK  [/green]" if r["status"] == "OK" else f"[red]{r['status']}[/red]"
                out.print(f"{mark} {esc(r['id']):<40} {esc(r['metric'])} = {esc(r.get('measured'))} "
                          f"(expected {r['expected']} ± {r['tolerance']})")
        if failed:
            raise typer.Exit(1)

    _run(body)


@eval_app.command("table")
def table(
    write: Optional[Path] = typer.Option(None, "--write", help="Replace the table between the registry markers in "
                                                                "this Markdown file (BENCHMARKS.md)."),
    json_: bool = JsonOpt,
) -> None:
    """Render the registry as a Markdown table (the one in BENCHMARKS.md)."""
    from spyglass.evaluation.registry import load_registry, render_table, write_table

    def body() -> None:
        rows = load_registry()
        if json_:
            print_json({"rows": [r.__dict__ for r in rows]})
        elif write:
            write_table(write, rows)
            err.print(f"updated {write}", markup=False)
        else:
            out.print(render_table(rows), markup=False)

    _run(body)


@eval_app.command("train-ranker")
def train_ranker_cmd(
    dataset: Path = typer.Argument(..., help="A BEIR folder with qrels/train.tsv (e.g. scifact)."),
    out: Path = typer.Option(..., "--out", help="Where to write the LightGBM model (text)."),
    split: str = typer.Option("train", "--split", help="The qrels split to learn from."),
    cache: Optional[Path] = CacheOpt,
    json_: bool = JsonOpt,
) -> None:
    """Train the LambdaMART ranker on a dataset's training qrels (use it with [rerank] ltr_model = OUT)."""
    from spyglass.evaluation.runner import train_ranker

    def body() -> None:
        res = train_ranker(_data(dataset), out, split=split, cache=cache, progress=RichProgress())
        if json_:
            print_json({"out": str(out), **res})
        else:
            out_ = f"trained on {res['queries']} queries ({res['rows']} candidates) -> {out}"
            err.print(out_)

    _run(body)
