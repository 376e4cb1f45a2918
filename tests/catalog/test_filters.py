"""Filter normalisation and the read-only SQL gate, with property-based inputs."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.catalog.filters import FileFilter, normalise_value, where_clause
from htan_cds.catalog.readonly import ReadOnlyViolation, check_read_only
from htan_cds.catalog.store import TABLES
from htan_cds.errors import CatalogError, UsageError


def test_normalise_values() -> None:
    assert normalise_value("level", "2") == "Level 2"
    assert normalise_value("level", "level3") == "Level 3"
    assert normalise_value("level", "auxiliary") == "Auxiliary"
    assert normalise_value("center", "HMS") == "HTAN HMS"
    assert normalise_value("center", "HTAN HMS") == "HTAN HMS"
    assert normalise_value("access", "Controlled") == "controlled"
    with pytest.raises(UsageError):
        normalise_value("access", "secret")


@given(st.sampled_from(["1", "2", "3", "4", "Level 2", "level 4", "Auxiliary"]))
def test_level_normalisation_is_idempotent(value: str) -> None:
    once = normalise_value("level", value)
    assert normalise_value("level", once) == once


@given(st.lists(st.text(max_size=30), max_size=4), st.lists(st.text(max_size=30), max_size=3))
def test_where_clause_binds_every_value(centers: list[str], texts: list[str]) -> None:
    sql, params = where_clause(FileFilter(center=centers or None, text=texts or None))
    assert sql.count("?") == len(params)
    # The SQL text depends only on how many values there are: values are always bound.
    same_shape = FileFilter(center=["x"] * len(centers) or None, text=["y"] * len(texts) or None)
    assert where_clause(same_shape)[0] == sql


def test_from_mapping_refuses_unknown_keys() -> None:
    assert FileFilter.from_mapping({"center": "HMS", "level": ["2", ""]}).to_dict() == {
        "center": ["HMS"],
        "level": ["2"],
    }
    with pytest.raises(UsageError):
        FileFilter.from_mapping({"colour": "red"})


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_gate_never_crashes_on_garbage(query: str) -> None:
    with contextlib.suppress(CatalogError):
        check_read_only(query, set(TABLES))


@given(
    st.sampled_from(
        ["INSERT INTO files", "UPDATE files SET", "DELETE FROM", "CREATE TABLE x", "DROP"]
    ),
    st.text(alphabet="abc ()*,'=", max_size=20),
)
def test_gate_refuses_writes(head: str, tail: str) -> None:
    with pytest.raises(ReadOnlyViolation):
        check_read_only(f"{head} {tail}", set(TABLES))


def test_gate_accepts_selects() -> None:
    for query in (
        "SELECT * FROM files",
        "select count(*) from files f join imaging i using (drs_id)",
        "WITH x AS (SELECT drs_id FROM files) SELECT * FROM x",
        "SELECT level FROM files UNION SELECT level FROM files",
    ):
        assert check_read_only(query, set(TABLES)) == query
