"""The small-real-folder answer set (`spyglass eval folder-qa`): its documents come from the shared data folder at run
time, under plain names, mails without the dataset's annotations."""

from __future__ import annotations

import pytest

from conftest import DATA, NO_DATA

from spyglass.evaluation.folder_qa import assemble, load_spec, questions


def test_the_set_has_twenty_questions_of_each_kind_and_no_duplicates():
    qs = questions()
    assert sum(not q["impossible"] for q in qs) == 20 and sum(q["impossible"] for q in qs) == 20
    assert len({q["question"] for q in qs}) == 40
    assert all(q["answers"] for q in qs if not q["impossible"])


def test_the_folder_is_assembled_from_the_shared_data(tmp_path):
    if not (DATA / "mail" / "enron-aeslc" / "dev").is_dir():
        pytest.skip(NO_DATA)
    folder = assemble(DATA, tmp_path / "docs")
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 14 and "norwich-city.txt" in names and "ideas-page.html" in names
    mails = [folder / n for n in names if n.startswith("mail-")]
    assert len(mails) == load_spec()["documents"][2]["first"]
    assert all("@subject" not in m.read_text() and "@ann0" not in m.read_text() for m in mails)
    text = " ".join(p.read_text(errors="replace") for p in folder.iterdir())
    for q in questions():  # every answer is in the folder; a test of the set, not of Spyglass
        assert q["impossible"] or any(a.lower() in text.lower() for a in q["answers"]), q["question"]
