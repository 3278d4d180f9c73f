"""A hypothesis strategy for free text in the query language (docs/query-language.md): words, fields, filters with
hostile values (huge numbers, 400-digit sizes, odd dates, control characters), operators and quotes. Used by the
server's property test and, through ``schemathesis_hooks``, by the schemathesis run (format ``spyglass-query``)."""

from __future__ import annotations

FIELDS = ["", "", "", "title:", "body:", "path:", "type:", "ext:", "in:", "folder:", "after:", "before:", "author:",
          "source:", "larger:", "smaller:", "topic:", "tag:", "camera:", "near:", "taken:", "+", "-", "NOT ", "AND ",
          "OR ", '"', "x:"]


def query_text():
    from hypothesis import strategies as st

    numbers = st.one_of(st.integers().map(str), st.just("1" + "0" * 400), st.just("99999999999999999999"),
                        st.from_regex(r"\d{1,30}(\.\d{0,5})?(b|k|kb|m|mb|g|gb|tb)?", fullmatch=True),
                        st.floats().map(str))
    dates = st.from_regex(r"-?\d{1,6}(-\d{1,3}){0,2}(T\d\d:\d\d)?", fullmatch=True)
    places = st.tuples(st.floats(), st.floats(), st.floats()).map(lambda t: ",".join(map(str, t)))
    values = st.one_of(st.text(max_size=20), numbers, dates, places, st.sampled_from(["*", "**", '"', "\\", ":"]))
    token = st.tuples(st.sampled_from(FIELDS), values).map("".join)
    return st.lists(token, min_size=1, max_size=6).map(" ".join).filter(lambda q: 1 <= len(q) <= 2000)
