"""The query language, filters, grouping of passages into documents, snippets, and access control in search."""

from __future__ import annotations

import os
import time

import pytest
from conftest import hits, keyword_config
from fixtures import write_all_formats

from spyglass.app.spyglass import Spyglass
from spyglass.core.config import UserSettings
from spyglass.core.errors import QuerySyntaxError
from spyglass.retrieval.query import Filters, parse


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("q") / "docs"
    (root / "finance").mkdir(parents=True)
    (root / "personal").mkdir()
    (root / "finance" / "q1.md").write_text("# Quarterly budget review\n\nThe quarterly budget review covers Q1.")
    (root / "finance" / "q2.txt").write_text("budget numbers for the review of the second quarter, quarterly")
    (root / "finance" / "draft.txt").write_text("a draft budget, not final")
    (root / "personal" / "recipes.txt").write_text("pancake recipe with blueberries and maple syrup")
    (root / "personal" / "long.txt").write_text(
        "\n\n".join(f"paragraph {i} " + "filler " * 250 + ("needle in the middle" if i == 7 else "") for i in range(12))
    )
    old = time.mktime((2020, 6, 1, 0, 0, 0, 0, 0, -1))
    os.utime(root / "finance" / "draft.txt", (old, old))
    write_all_formats(root / "formats")
    sg = Spyglass(tmp_path_factory.mktemp("home"), config=keyword_config())
    sg.index([str(root)])
    yield sg, root
    sg.close()


def test_phrase_must_match(corpus):
    sg, _ = corpus
    assert hits(sg, '"budget review"') == ["q1.md"]
    assert set(hits(sg, 'quarterly "budget review"')) == {"q1.md"}


def test_or_is_default_and_ranks_by_bm25(corpus):
    sg, _ = corpus
    names = hits(sg, "quarterly budget")
    assert set(names) >= {"q1.md", "q2.txt", "draft.txt"}
    assert names[0] == "q1.md"  # title match + both words


def test_and_not_and_minus(corpus):
    sg, _ = corpus
    assert set(hits(sg, "budget AND quarterly")) == {"q1.md", "q2.txt"}
    assert "draft.txt" not in hits(sg, "budget -draft")
    assert "draft.txt" not in hits(sg, "budget NOT draft")
    assert set(hits(sg, "+budget +final")) == {"draft.txt"}


def test_prefix_and_stemming(corpus):
    sg, _ = corpus
    assert "recipes.txt" in hits(sg, "panc*")
    assert "recipes.txt" in hits(sg, "pancakes")  # stemmed
    assert "recipes.txt" in hits(sg, "blueberry")


def test_typo_tolerance(corpus):
    sg, _ = corpus
    res = sg.search("blueberies")
    assert [h.extra["name"] for h in res.hits] == ["recipes.txt"]
    assert "blueberies" in res.corrected
    assert hits(sg, "quartrly budgett")[0] == "q1.md"


def test_field_restriction(corpus):
    sg, _ = corpus
    assert set(hits(sg, "title:quarterly")) == {"q1.md", "report.pdf"}  # "Quarterly Report" is the PDF's title
    assert "q2.txt" not in hits(sg, "title:quarterly")
    assert "recipes.txt" in hits(sg, "path:personal")


def test_filters(corpus):
    sg, root = corpus
    assert set(hits(sg, "budget", filters=Filters(types=["markdown"]))) == {"q1.md"}
    assert set(hits(sg, "budget type:text")) == {"q2.txt", "draft.txt"}
    assert set(hits(sg, f"budget in:{root / 'finance'}")) == {"q1.md", "q2.txt", "draft.txt"}
    assert hits(sg, f"pancake in:{root / 'finance'}") == []
    assert hits(sg, "budget before:2021") == ["draft.txt"]
    assert "draft.txt" not in hits(sg, "budget after:2021-01-01")
    assert hits(sg, "budget ext:md") == ["q1.md"]
    assert "q1.md" not in hits(sg, "budget larger:1mb")
    assert set(hits(sg, "budget smaller:1mb")) == {"q1.md", "q2.txt", "draft.txt"}
    assert hits(sg, "author:lovelace") == ["report.pdf"]
    assert hits(sg, "quarterly author:nobodyatall") == []


def test_filter_only_query_lists_documents(corpus):
    sg, _ = corpus
    assert set(hits(sg, "type:pdf")) == {"report.pdf"}


def test_passages_grouped_into_documents(corpus):
    sg, _ = corpus
    res = sg.search("filler")
    assert [h.extra["name"] for h in res.hits] == ["long.txt"] and res.total == 1
    h = sg.search("needle").hits[0]
    assert h.chunk and h.chunk > 0  # points into the document
    assert "<b>needle</b>" in h.snippet_html


def test_paging(corpus):
    sg, _ = corpus
    all_ = [h.id for h in sg.search("budget OR pancake OR filler", limit=10).hits]
    p1 = [h.id for h in sg.search("budget OR pancake OR filler", limit=2).hits]
    p2 = [h.id for h in sg.search("budget OR pancake OR filler", limit=2, offset=2).hits]
    assert p1 + p2 == all_[:4]


def test_bad_query_errors():
    with pytest.raises(QuerySyntaxError):
        parse("after:yesterday")
    with pytest.raises(QuerySyntaxError):
        parse("larger:huge")
    assert parse("http://example.com").clauses  # unknown field prefixes are searched as text


def test_json_output_shape(corpus, capsys):
    import json

    from typer.testing import CliRunner

    from spyglass.cli.main import app

    sg, root = corpus
    r = CliRunner().invoke(app, ["search", '"budget review"', "--home", str(sg.home), "--json"])
    assert r.exit_code == 0, r.output
    obj = json.loads(r.stdout)
    assert obj["query"] == '"budget review"' and obj["total"] == 1
    res = obj["results"][0]
    assert {"id", "path", "title", "type", "score", "snippet", "modified"} <= set(res)
    assert "<b>" in res["snippet"]
    r = CliRunner().invoke(app, ["search", "pdfalicious", "--type", "pdf", "--home", str(sg.home), "--json"])
    assert json.loads(r.stdout)["results"][0]["page"] == 2


# -- access control ---------------------------------------------------------------------------------------------

def test_as_user_filters_inside_the_query(tmp_path):
    from fixtures import make_message

    root = tmp_path / "shared"
    root.mkdir()
    mine = root / "alice-only.txt"
    mine.write_text("alice secret pineapple")
    os.chown(mine, 50001, 50001)
    mine.chmod(0o600)
    team = root / "team.txt"
    team.write_text("team notes pineapple")
    os.chown(team, 50002, 50002)
    team.chmod(0o640)
    public = root / "public.txt"
    public.write_text("public pineapple")
    public.chmod(0o644)
    (root / "mail.eml").write_bytes(make_message("Plan", "pineapple plan", "carol@example.com",
                                                 ["alice@example.com"]).as_bytes())
    cfg = keyword_config()
    cfg.users = {
        "alice": UserSettings(principals=["user:50001"], emails=["alice@example.com"]),
        "bob": UserSettings(groups=["50002"]),
        "eve": UserSettings(),
    }
    sg = Spyglass(tmp_path / "home", config=cfg)
    sg.index([str(root)])
    assert set(hits(sg, "pineapple")) == {"alice-only.txt", "team.txt", "public.txt", "mail.eml"}
    assert set(hits(sg, "pineapple", as_user="alice")) == {"alice-only.txt", "public.txt", "mail.eml"}
    assert set(hits(sg, "pineapple", as_user="bob")) == {"team.txt", "public.txt"}
    assert set(hits(sg, "pineapple", as_user="eve")) == {"public.txt"}
    # totals and filter-only listings are filtered too
    assert sg.search("pineapple", as_user="eve").total == 1
    assert sg.search("secret", as_user="eve").total == 0
    assert set(hits(sg, "type:text", as_user="eve")) == {"public.txt"}
    # typo tolerance must not reveal words from documents the caller cannot read
    assert sg.search("secrat", as_user="eve").total == 0
    sg.close()


def test_vcs_hidden_and_ignore_file(tmp_path, sg):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / ".git" / "config").write_text("gitinternal")
    (root / ".hidden.txt").write_text("hiddenword")
    (root / "build").mkdir()
    (root / "build" / "out.txt").write_text("buildartifact")
    (root / "keep.log").write_text("keepme logline")
    (root / "drop.log").write_text("dropme logline")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "x.js").write_text("nodemodword")
    (root / ".spyglassignore").write_text("build/\n*.log\n!keep.log\n")
    sg.index([str(root)])
    assert hits(sg, "gitinternal") == [] and hits(sg, "hiddenword") == [] and hits(sg, "nodemodword") == []
    assert hits(sg, "buildartifact") == []
    assert hits(sg, "logline") == ["keep.log"]


def test_non_utf8_file_names_are_kept(tmp_path, sg):
    root = tmp_path / "names"
    root.mkdir()
    raw = os.fsencode(str(root)) + b"/caf\xe9-latin1.txt"
    with open(raw, "wb") as fh:
        fh.write(b"espresso notes")
    sg.index([str(root)])
    res = sg.search("espresso")
    assert res.total == 1
    assert res.hits[0].uri.endswith("caf%E9-latin1.txt")  # the exact bytes survive in the URI
    os.unlink(raw)
    sg.index()
    assert sg.search("espresso").total == 0


def test_slack_export(tmp_path):
    from conftest import DATA, NO_DATA

    z = DATA / "chat" / "testarchive.zip"
    if not z.exists():
        pytest.skip(NO_DATA)
    sg = Spyglass(tmp_path / "home", config=keyword_config())
    stats = sg.index([str(z)])
    assert stats.failed == 0
    res = sg.search("type:chat", limit=100)
    assert res.total >= 10
    h = res.hits[0]
    assert h.title.startswith("#") and h.parent_id
    st = sg.status()
    assert st["sources"][0]["kind"] == "chat"
    # a channel-day is readable by the channel's members only
    members = sg.reader().catalog.item_principals(h.id)
    assert members and all(p.startswith(("slack:", "email:", "user:")) for p in members)
    sg.close()


def test_question_words_do_not_decide_a_match(tmp_path, sg):
    """'Where and when is the meeting?' is about the meeting: stop and question words never outrank it (16.2)."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "invite.eml").write_text("From: a@example.com\nTo: b@example.com\nSubject: Planning meeting\n\n"
                                     "The planning meeting is on Tuesday in room 4.\n")
    (root / "fields.json").write_text('{"is": "when", "the": "where", "and": "is", "when": "the where"}')
    sg.index([str(root)])
    assert hits(sg, "Where and when is the meeting?")[0] == "invite.eml"
    assert hits(sg, "where is")  # a query of stop words only still searches them


def test_chinese_is_searched_by_character_bigrams(tmp_path, sg):
    """Text without spaces between words is found by its words (issue 16.2: CJK segmentation)."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "beijing.txt").write_text("北京大学是中国最著名的大学之一，位于北京市海淀区。")
    (root / "tokyo.txt").write_text("東京大学は日本の国立大学です。")
    (root / "mixed.txt").write_text("Meeting notes: 上海 office opens in May.")
    sg.index([str(root)])
    assert hits(sg, "北京大学在哪里")[0] == "beijing.txt"
    assert hits(sg, "東京の大学")[0] == "tokyo.txt"
    assert hits(sg, "上海 office")[0] == "mixed.txt"
    assert hits(sg, '"海淀区"') == ["beijing.txt"]  # a quoted run is a phrase of its characters


def test_totals_are_counts_and_an_estimate_says_so(tmp_path):
    """A total is the number of matching documents: counted exactly when every matching passage was ranked, and
    marked as an estimate (``total_exact``, "about N" in the CLI) when it comes from tantivy's cardinality count."""
    root = tmp_path / "many"
    root.mkdir()
    for i in range(400):
        (root / f"n{i:03d}.txt").write_text(f"note {i} about the harbour crane" + (" and its budget" if i < 3 else ""))
    sg = Spyglass(tmp_path / "home", config=keyword_config())
    sg.index([str(root)])
    few = sg.search("budget", limit=10)
    assert few.total == 3 and few.total_exact
    many = sg.search("harbour", limit=5)
    assert len(many.hits) == 5 and many.total == 400 and many.total_exact  # counted: few matching passages
    import spyglass.retrieval.lexical as lexical

    old, lexical.EXACT_COUNT = lexical.EXACT_COUNT, 100
    try:
        est = sg.search("harbour crane", limit=5)
    finally:
        lexical.EXACT_COUNT = old
    assert len(est.hits) == 5 and not est.total_exact
    assert abs(est.total - 400) <= 20  # HyperLogLog over random document keys: an estimate (411 seen once; 5 %)
    assert sg.search('"no such phrase anywhere"').total == 0
    sg.close()


def test_a_filter_over_few_or_many_values_selects_the_same_documents(tmp_path):
    """Access and type clauses are a disjunction of term queries for a few values and a term-set query beyond
    ``FEW_TERMS``: both must select exactly the documents holding one of the values."""
    import tantivy

    from spyglass.index.lexical import LexicalIndex
    from spyglass.retrieval.filters import FEW_TERMS, acl_query, any_of

    lex = LexicalIndex(tmp_path / "lex")
    w = lex.writer()
    readers = {1: ["user:ann"], 2: ["group:eng", "user:bob"], 3: ["everyone"], 4: ["user:eve"], 5: []}
    for n, principals in readers.items():
        doc = tantivy.Document(iid=n, body=f"report number {n}", type="text" if n % 2 else "pdf")
        for p in principals:
            doc.add_text("acl", p)
        w.add_document(doc)
    w.commit()
    lex.index.reload()
    searcher = lex.index.searcher()
    words = tantivy.Query.term_query(lex.schema, "body", "report")

    def found(clause: tantivy.Query) -> set[int]:
        q = tantivy.Query.boolean_query([(tantivy.Occur.Must, words), (tantivy.Occur.Must, clause)])
        hits = searcher.search(q, 10).hits
        return {int(k) for k in searcher.fast_field_values("iid", [a for _, a in hits])} if hits else set()

    padding = [f"group:nobody{i}" for i in range(FEW_TERMS + 1)]
    for principals, want in ((["user:ann", "everyone"], {1, 3}), (["group:eng"], {2}), (["user:zed"], set())):
        assert found(acl_query(lex.schema, principals)) == want
        assert found(acl_query(lex.schema, principals + padding)) == want  # the term-set form
    assert found(any_of(lex.schema, "type", ["pdf"])) == found(any_of(lex.schema, "type", ["pdf"] + padding)) == {2, 4}
    assert found(acl_query(lex.schema, [])) == set()
