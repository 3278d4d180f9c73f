"""Side channels (issue 13.6): nothing a search reports — typo hints, counts — may depend on documents the caller
cannot read."""

from __future__ import annotations

import os

from conftest import keyword_config

SECRET = "quxbazzlewort"  # in alice's private file only
ABSENT = "quxbazzlewirt"  # nowhere (one letter away from the secret)


def _index(tmp_path):
    from spyglass.app.spyglass import Spyglass

    root = tmp_path / "docs"
    root.mkdir()
    (root / "alice.txt").write_text(f"my private note: {SECRET} is the code word")
    (root / "public.txt").write_text("the team plan for the quarter")
    os.chmod(root / "alice.txt", 0o600)  # owner only (the owner is the indexing user)
    sg = Spyglass(tmp_path / "home", config=keyword_config())
    sg.index([str(root)])
    return sg


def test_typo_hints_do_not_reveal_that_another_users_word_exists(tmp_path):
    sg = _index(tmp_path)
    outsider = ["user:mallory", "everyone"]
    secret = sg.search(SECRET, principals=outsider, mode="keyword")
    absent = sg.search(ABSENT, principals=outsider, mode="keyword")
    # the caller cannot tell a word of someone else's file from a word that occurs nowhere
    assert sorted(secret.corrected) == [SECRET] and sorted(absent.corrected) == [ABSENT]
    assert secret.total == absent.total == 0 and secret.hits == absent.hits == []
    # the owner of the file still finds it by the exact word, and no typo is reported
    own = sg.search(SECRET, mode="keyword")
    assert own.total == 1 and not own.corrected
    sg.close()


def test_an_empty_principal_list_sees_nothing_and_none_is_refused(tmp_path):
    import pytest

    sg = _index(tmp_path)
    assert sg.search("plan", principals=[], mode="keyword").hits == []
    with pytest.raises(Exception, match="user name"):
        sg.search("plan", as_user="", mode="keyword")
    sg.close()


def test_what_one_caller_learned_about_a_word_is_not_reused_for_another(tmp_path):
    """The retriever remembers whether a word exists per searcher and per set of principals (search-as-you-type asks
    again for every keystroke): the owner's answer must not reach an outsider, in either order, and a commit that
    adds the word must be seen."""
    sg = _index(tmp_path)
    outsider = ["user:mallory", "everyone"]
    for _ in range(2):  # owner first, then outsider; then again with both answers remembered
        assert not sg.search(SECRET, mode="keyword").corrected
        assert sg.search(SECRET, principals=outsider, mode="keyword").corrected == {SECRET: "~"}
    word = "quxfrobnicate"
    assert sg.search(word, principals=outsider, mode="keyword").corrected == {word: "~"}
    (tmp_path / "docs" / "shared.txt").write_text(f"{word} for everyone")
    sg.index([str(tmp_path / "docs")])
    found = sg.search(word, principals=outsider, mode="keyword")
    assert not found.corrected and found.total == 1
    sg.close()
