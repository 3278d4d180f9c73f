"""Training pairs for the answer model from SQuAD 2.0's *tune* half (``evaluation.qa.split_of``; the test half is
never read here).

Every question is paired with sentences split as ``ask`` splits them (:mod:`spyglass.core.sentences`), each shown as
``title | sentence`` (:func:`spyglass.models.answerer.window`):

- the sentences of the paragraph it was asked about: label 1 for the sentence holding a gold answer (its span marked),
  0 for the others; an unanswerable question's sentences are all 0 (SQuAD 2.0's unanswerable questions were written
  against that paragraph to look answerable: the hard negatives the model must learn to refuse);
- ``others`` sentences of *other* paragraphs of the same article, those sharing most question words (what retrieval
  also offers at run time), label 0.

The tune half is split again by question id (``evaluation.qa.part_of``): ``val`` (one question in ten) measures the
model and sets its threshold, ``train`` trains it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from spyglass.core.sentences import split_sentences
from spyglass.core.terms import content_terms
from spyglass.evaluation.qa import in_split
from spyglass.models.answerer import TITLE_SEP, window


@dataclass(slots=True)
class Pair:
    qid: str
    question: str
    text: str  # the model's second segment: "title | sentence"
    lo: int  # where the sentence starts in text
    label: int  # 1: the sentence holds a gold answer
    span: tuple[int, int] | None  # the answer's character offsets in text
    answers: list[str]  # gold answers of the question ([] when unanswerable)
    prev: str = ""  # the sentence before it in its paragraph (context for the answerability features)
    next: str = ""  # the sentence after it (with prev, what a neighbours reader also reads)

    def around(self) -> tuple[str, tuple[int, int] | None]:
        """The pair as a neighbours reader reads it: ``title | prev » sentence « next``, and the span in that."""
        title, sentence = self.text[: self.lo].removesuffix(TITLE_SEP), self.text[self.lo :]
        text, lo = window(title, sentence, (self.prev, self.next))
        return text, None if self.span is None else (self.span[0] - self.lo + lo, self.span[1] - self.lo + lo)


def answer_pairs(squad_json: Path, part: str = "train", others: int = 1, negatives: int | None = None,
                 limit: int | None = None) -> list[Pair]:
    """Pairs of the tune half's ``part`` (train, val or all); ``limit``: the first N questions only (tests).

    ``negatives``: keep only this many of the paragraph's other sentences per question, the hardest first (the one
    holding an unanswerable question's plausible answer, then those sharing most question words); None keeps all."""
    return _pairs(squad_json, part, others, negatives, limit)


def reader_pairs(squad_json: Path, part: str = "train", limit: int | None = None) -> list[Pair]:
    """The reader's pairs: for each question the sentence holding its first gold answer (label 1, its span marked;
    none when unanswerable), the three hardest other sentences of its paragraph and one of another paragraph (label 0,
    no span). The span loss reads the gold spans; the relevance head sees the hard negatives."""
    return _pairs(squad_json, part, 1, 3, limit)


def _questions(squad_json: Path, part: str, limit: int | None) -> Iterator[tuple[dict, int, dict]]:
    """``(article, paragraph number, question)`` for the first ``limit`` questions of the tune half's ``part``."""
    n_q = 0
    for art in json.loads(Path(squad_json).read_text())["data"]:
        for pi, para in enumerate(art["paragraphs"]):
            for qa in para["qas"]:
                if not in_split(qa["id"], "tune" if part == "all" else part):
                    continue
                if limit is not None and n_q >= limit:
                    return
                n_q += 1
                yield art, pi, qa


def _answers(qa: dict) -> list[str]:
    return [] if qa.get("is_impossible") else sorted({x["text"] for x in qa["answers"]})


def _pairs(squad_json: Path, part: str, others: int, negatives: int | None, limit: int | None) -> list[Pair]:
    out: list[Pair] = []
    cache: dict[int, tuple[list, list]] = {}  # per article: its paragraphs' sentences and their words
    for art, pi, qa in _questions(squad_json, part, limit):
        if id(art) not in cache:
            paras = [(p["context"], split_sentences(p["context"])) for p in art["paragraphs"]]
            cache = {id(art): (paras, [[set(content_terms(ctx[a:b])) for a, b in spans] for ctx, spans in paras])}
        paras, terms = cache[id(art)]
        title = art["title"].replace("_", " ")
        out += _paragraph_pairs(qa, title, paras[pi], terms[pi], negatives)
        out += _other_sentences(qa, title, paras, terms, pi, others, _answers(qa))
    return out


def _paragraph_pairs(qa: dict, title: str, para: tuple[str, list[tuple[int, int]]], terms: list[set[str]],
                     negatives: int | None) -> list[Pair]:
    ctx, spans = para
    golds = [] if qa.get("is_impossible") else [(x["answer_start"], x["answer_start"] + len(x["text"]))
                                               for x in qa["answers"]]
    plausible = [(x["answer_start"], x["answer_start"] + len(x["text"])) for x in qa.get("plausible_answers", [])]
    answers = sorted({x["text"] for x in qa["answers"]}) if golds else []
    q = set(content_terms(qa["question"]))
    pos: list[Pair] = []
    neg: list[tuple[tuple[int, int], Pair]] = []
    for k, ((a, b), t) in enumerate(zip(spans, terms)):
        inside = [(s, e) for s, e in golds if a <= s and e <= b]
        text, lo = window(title, ctx[a:b])
        prev, nxt = _beside(ctx, spans, k)
        if inside:
            pos.append(Pair(qa["id"], qa["question"], text, lo, 1, (lo + inside[0][0] - a, lo + inside[0][1] - a),
                            answers, prev, nxt))
        else:
            hard = any(a <= s and e <= b for s, e in plausible)
            neg.append(((-int(hard), -len(q & t)),
                        Pair(qa["id"], qa["question"], text, lo, 0, None, answers, prev, nxt)))
    neg.sort(key=lambda x: x[0])
    return pos + [p for _, p in (neg if negatives is None else neg[:negatives])]


def _beside(ctx: str, spans: list[tuple[int, int]], k: int) -> tuple[str, str]:
    """The sentences before and after sentence ``k`` of a paragraph (``""`` at either end)."""
    prev = ctx[spans[k - 1][0] : spans[k - 1][1]] if k else ""
    return prev, (ctx[spans[k + 1][0] : spans[k + 1][1]] if k + 1 < len(spans) else "")


def _other_sentences(qa: dict, title: str, paras: list, terms: list, pi: int, k: int, answers: list[str]
                     ) -> list[Pair]:
    if k <= 0:
        return []
    q = set(content_terms(qa["question"]))
    cands = [(len(q & t), pj, si) for pj, ts in enumerate(terms) if pj != pi for si, t in enumerate(ts)]
    cands.sort(key=lambda x: (-x[0], x[1], x[2]))
    out = []
    for _, pj, si in cands:
        ctx, spans = paras[pj]
        a, b = spans[si]
        if any(x.lower() in ctx[a:b].lower() for x in answers):
            continue  # it happens to hold the answer too: not a negative
        text, lo = window(title, ctx[a:b])
        out.append(Pair(qa["id"], qa["question"], text, lo, 0, None, answers, *_beside(ctx, spans, si)))
        if len(out) == k:
            break
    return out


def passage_pairs(squad_json: Path, part: str = "train", others: int = 1, limit: int | None = None) -> list[Pair]:
    """The passage reader's pairs: each question with its whole paragraph, shown as ``title | paragraph`` (label 1 and
    the first gold answer's span when answerable; label 0 and no span when not: SQuAD 2.0's unanswerable questions
    were written against that very paragraph), and ``others`` other paragraphs of the same article, those sharing most
    question words and not holding an answer (label 0): what retrieval also offers."""
    out: list[Pair] = []
    terms: dict[int, list[set[str]]] = {}
    for art, pi, qa in _questions(squad_json, part, limit):
        if id(art) not in terms:
            terms = {id(art): [set(content_terms(p["context"])) for p in art["paragraphs"]]}
        title = art["title"].replace("_", " ")
        text, lo = window(title, art["paragraphs"][pi]["context"])
        answers, span = _answers(qa), None
        if answers:
            a = qa["answers"][0]
            span = (lo + a["answer_start"], lo + a["answer_start"] + len(a["text"]))
        out.append(Pair(qa["id"], qa["question"], text, lo, int(bool(answers)), span, answers))
        out += _other_paragraphs(qa, title, art["paragraphs"], terms[id(art)], pi, others, answers)
    return out


def _other_paragraphs(qa: dict, title: str, paras: list, terms: list, pi: int, k: int, answers: list[str]
                      ) -> list[Pair]:
    q = set(content_terms(qa["question"]))
    order = sorted((j for j in range(len(paras)) if j != pi), key=lambda j: (-len(q & terms[j]), j))
    out = []
    for j in order:
        ctx = paras[j]["context"]
        if any(x.lower() in ctx.lower() for x in answers):
            continue
        text, lo = window(title, ctx)
        out.append(Pair(qa["id"], qa["question"], text, lo, 0, None, answers))
        if len(out) == k:
            break
    return out
