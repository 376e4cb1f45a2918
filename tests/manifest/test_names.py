"""safe_name: a name from a manifest never leads outside the destination folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.manifest import is_safe_name, safe_name
from htan_cds.manifest.names import (
    all_plain_names,
    fallback_from_id,
    name_problems,
    numbered_name,
    split_extension,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CRC01b_07.ome.tif", "CRC01b_07.ome.tif"),
        ("../../etc/passwd", "etc_passwd"),
        ("/abs/x.tif", "abs_x.tif"),
        ("imaging_level_2/WD-76845-002.ome.tif", "imaging_level_2_WD-76845-002.ome.tif"),
        ("C:\\Users\\a.tif", "C:_Users_a.tif"),
        ("a\x00b\x1fc\x7f.tif", "abc.tif"),
        ("..", "uuid-1"),
        (".", "uuid-1"),
        ("", "uuid-1"),
        ("   ", "uuid-1"),
        (None, "uuid-1"),
        ("..a", "..a"),
        (" spaced name.tif", " spaced name.tif"),
    ],
)
def test_safe_name_cases(name: str | None, expected: str) -> None:
    assert safe_name(name, "uuid-1") == expected


def test_long_names_are_cut_to_255_bytes_keeping_the_extension() -> None:
    name = "é" * 300 + ".ome.tif"
    safe = safe_name(name, "x")
    assert len(safe.encode()) <= 255 and safe.endswith(".ome.tif")
    assert safe.startswith("é")
    assert "longer than 255 bytes" in name_problems(name)


def test_fallbacks() -> None:
    assert fallback_from_id("dg.4DFC/624649d2") == "624649d2"
    assert fallback_from_id("drs://host/dg.4DFC/abc") == "abc"
    assert safe_name("", "../..") == "unnamed"


def test_extensions_and_numbering() -> None:
    assert split_extension("a.ome.tif") == ("a", ".ome.tif")
    assert split_extension("R1_001.fastq.gz") == ("R1_001", ".fastq.gz")
    assert split_extension(".bashrc") == (".bashrc", "")
    assert numbered_name("a.ome.tif", 2) == "a_2.ome.tif"
    assert numbered_name("README", 3) == "README_3"


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=300)), st.text(max_size=80))
def test_safe_name_never_escapes_and_is_idempotent(name: str | None, fallback: str) -> None:
    safe = safe_name(name, fallback)
    assert safe and safe.strip()
    assert "/" not in safe and "\\" not in safe and safe not in (".", "..")
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in safe)
    assert len(safe.encode("utf-8")) <= 255
    assert is_safe_name(safe)
    assert safe_name(safe, fallback) == safe
    base = Path("/srv/dest")
    joined = Path(os.path.normpath(base / safe))
    assert joined.parent == base
    if name is not None and is_safe_name(name):
        assert safe == name


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=70), max_size=20))
def test_bulk_name_check_agrees_with_single_checks(names: list[str]) -> None:
    if all_plain_names(names):
        assert all(is_safe_name(n) for n in names)
    assert is_safe_name("a") and not is_safe_name(None)
