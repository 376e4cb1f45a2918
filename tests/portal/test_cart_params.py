"""Parsers of what the browser sends: query-string filters, sort/page parameters, cart documents."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.errors import UsageError
from htan_cds.server.portal.cart import MAX_CART_IDS, Cart
from htan_cds.server.portal.params import (
    FACET_NAMES,
    FILTER_NAMES,
    filter_from_items,
    filter_from_json,
    parse_page,
)

_values = st.lists(st.text(min_size=1, max_size=12).filter(str.strip), max_size=3)
_facets = sorted((FACET_NAMES | {"text", "marker"}) - {"access", "level", "center"})
_filters = st.dictionaries(st.sampled_from(_facets), _values, max_size=3)
_ids = st.lists(st.text(min_size=1, max_size=20), max_size=5)


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12)), max_size=12))
def test_query_items_never_crash_and_ignore_unknown_names(items: list[tuple[str, str]]) -> None:
    try:
        flt = filter_from_items(items)
    except UsageError:
        return
    assert set(flt.to_dict()) <= FILTER_NAMES


def test_query_items_deduplicate_and_drop_blank() -> None:
    flt = filter_from_items([("assay", "CyCIF"), ("assay", "CyCIF"), ("organ", " "), ("tab", "x")])
    assert flt.to_dict() == {"assay": ["CyCIF"]}


@given(_filters, _ids, _ids)
def test_cart_round_trips_and_key_ignores_order(
    filters: dict[str, list[str]], ids: list[str], removed: list[str]
) -> None:
    doc: dict[str, Any] = {"filters": [filters], "ids": ids, "removed": removed}
    cart = Cart.from_json(doc)
    again = Cart.from_json(cart.to_json())
    assert again.to_json() == cart.to_json()
    shuffled = {
        "filters": [{k: list(reversed(v)) for k, v in reversed(list(filters.items()))}],
        "ids": list(reversed(ids)),
        "removed": list(reversed(removed)),
    }
    assert Cart.from_json(shuffled).key() == cart.key()


@settings(max_examples=60, deadline=None)
@given(_filters, _ids, _ids)
def test_cart_where_is_valid_sql_with_bound_values(
    filters: dict[str, list[str]], ids: list[str], removed: list[str]
) -> None:
    cart = Cart.from_json({"filters": [filters], "ids": ids, "removed": removed})
    sql, params = cart.where()
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE files (drs_id VARCHAR, HTAN_Center VARCHAR, atlas_name VARCHAR, "
        "assay VARCHAR, Tissue_or_Organ_of_Origin VARCHAR, Primary_Diagnosis VARCHAR, "
        "level VARCHAR, Data_Release VARCHAR, File_Format VARCHAR, access VARCHAR, "
        "HTAN_Participant_ID VARCHAR, biospecimen_ids VARCHAR[], name VARCHAR, "
        "HTAN_Data_File_ID VARCHAR, Filename VARCHAR, source VARCHAR)"
    )
    # Text and marker terms also look at the images' channels.
    con.execute("CREATE TABLE channels (drs_id VARCHAR, Channel_Name VARCHAR, Target VARCHAR)")
    con.execute("INSERT INTO files (drs_id, assay) VALUES ('x', 'CyCIF')")
    # Whatever the user typed travels as parameters: the query always parses and runs.
    con.execute(f"SELECT count(*) FROM files f WHERE {sql}", params).fetchone()


@pytest.mark.parametrize(
    "doc",
    [
        "not json",
        [],
        {"filters": "x"},
        {"filters": [{"bogus": ["x"]}]},
        {"filters": [{"assay": [1]}]},
        {"ids": [""]},
        {"ids": "dg.X/1"},
        {"ids": ["a"] * (MAX_CART_IDS + 1)},
    ],
)
def test_bad_carts_are_usage_errors(doc: Any) -> None:
    with pytest.raises(UsageError):
        Cart.from_json(doc)


def test_empty_cart_selects_nothing() -> None:
    assert Cart.from_json({}).where() == ("FALSE", [])
    assert Cart.from_json({"removed": ["a"]}).is_empty()


def test_filter_json_accepts_a_single_string() -> None:
    assert filter_from_json({"assay": "CyCIF"}).to_dict() == {"assay": ["CyCIF"]}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("files", "nope", None, None, None), "cannot sort"),
        (("files", None, "up", None, None), "order"),
        (("files", None, None, "x", None), "whole number"),
        (("files", None, None, None, "501"), "limit"),
        (("tables", None, None, None, None), "unknown table"),
    ],
)
def test_bad_pages(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_page(*args)


def test_page_defaults() -> None:
    page = parse_page("participants", None, None, None, None)
    assert (page.sort.key, page.descending, page.offset, page.limit) == (
        "HTAN_Participant_ID",
        False,
        0,
        25,
    )
