"""The rank handler's own query split (``plain_query``) reads what aiohttp's ``request.query``
reads, wherever it answers; with anything to percent-decode it leaves the query to aiohttp."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from waitless.api.query import plain_query

# Separators, '+', spaces, digits, names and a non-ASCII letter: what a query string holds.
_QUERY_TEXT = st.text(alphabet="&=+;.-_ abclmnotwé0123456789", max_size=60)
# Fields from a few names (so names repeat), some without '=', some empty.
_FIELD = st.one_of(
    st.just(""),
    st.tuples(st.sampled_from(["lat", "lon", "mode", "age", "a+b", "é"]),
              st.one_of(st.none(), st.text(alphabet="=+.-1w ", max_size=5))).map(
        lambda nv: nv[0] if nv[1] is None else f"{nv[0]}={nv[1]}"))
_QUERY_FIELDS = st.lists(_FIELD, max_size=8).map("&".join)


@given(st.one_of(_QUERY_TEXT, _QUERY_FIELDS))
def test_plain_query_reads_the_first_value_of_each_name_as_aiohttp_does(raw: str) -> None:
    expected = URL.build(path="/v1/rank", query_string=raw, encoded=True).query
    assert plain_query(raw) == {name: expected[name] for name in expected}


@given(_QUERY_TEXT, _QUERY_TEXT)
def test_a_percent_escape_leaves_the_query_to_aiohttp(before: str, after: str) -> None:
    assert plain_query(f"{before}%2B{after}") is None


def test_repeated_names_keep_the_first_value_and_plus_is_a_space() -> None:
    assert plain_query("mode=walk&mode=drive&&condition=+sprain&age") == {
        "mode": "walk", "condition": " sprain", "age": ""}
