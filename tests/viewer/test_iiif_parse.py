"""The IIIF request grammar (https://iiif.io/api/image/3.0/ §4): exact cases from the spec's
tables and examples, and properties over arbitrary input (never a crash, always in bounds)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from htan_cds.imaging import iiif
from htan_cds.imaging.iiif import IiifError, parse_region, parse_rotation, parse_size
from htan_cds.imaging.tiles import Box


def test_region_forms() -> None:
    assert parse_region("full", 300, 200) == Box(0, 0, 300, 200)
    assert parse_region("square", 300, 200) == Box(50, 0, 200, 200)
    assert parse_region("125,15,120,140", 300, 200) == Box(125, 15, 120, 140)
    # §4.1 example 5: a region past the edge is cropped (returned image 175 x 185).
    assert parse_region("125,15,200,200", 300, 200) == Box(125, 15, 175, 185)
    assert parse_region("pct:41.6,7.5,40,70", 300, 200) == Box(125, 15, 120, 140)
    for bad in ("0,0,0,10", "300,0,10,10", "-1,0,5,5", "1,2,3", "pct:1,2,3", "abc", "1.5,0,2,2"):
        with pytest.raises(IiifError) as err:
            parse_region(bad, 300, 200)
        assert err.value.status == 400


def test_size_forms() -> None:
    region = Box(0, 0, 300, 200)
    assert parse_size("max", region) == (300, 200)
    assert parse_size("150,", region) == (150, 100)
    assert parse_size(",150", region) == (225, 150)
    assert parse_size("pct:50", region) == (150, 100)
    assert parse_size("225,100", region) == (225, 100)
    assert parse_size("!225,100", region) == (150, 100)  # §4.2 example 6
    assert parse_size("^360,", region) == (360, 240)
    assert parse_size("^!360,360", region) == (360, 240)
    assert parse_size("^pct:120", region) == (360, 240)
    for bad in ("301,", ",201", "pct:101", "!600,600", "0,", "foo", "1,2,3", "^", ",", "full"):
        with pytest.raises(IiifError) as err:
            parse_size(bad, region)
        assert err.value.status == 400, bad


def test_size_limits() -> None:
    huge = Box(0, 0, 100_000, 50_000)
    w, h = parse_size("max", huge)
    assert w <= iiif.MAX_WIDTH and h <= iiif.MAX_HEIGHT and w * h <= iiif.MAX_AREA
    assert abs(w / h - 2) < 0.01
    with pytest.raises(IiifError):
        parse_size("5000,", huge)


def test_rotation() -> None:
    assert parse_rotation("0") == iiif.Rotation(False, 0)
    assert parse_rotation("!90") == iiif.Rotation(True, 90)
    assert parse_rotation("22.5") == iiif.Rotation(False, 22.5)
    assert parse_rotation("360") == iiif.Rotation(False, 0)
    for bad in ("-90", "361", "+90", "90deg", "", "!"):
        with pytest.raises(IiifError):
            parse_rotation(bad)


def test_scale_factors_reach_one_tile() -> None:
    assert iiif.scale_factors(1000, 1000, 256) == [1, 2, 4]
    assert iiif.scale_factors(256, 100, 256) == [1]
    assert iiif.scale_factors(100_000, 10, 512) == [2**i for i in range(9)]


@given(
    text=st.text(alphabet="0123456789,.:pctfulsqare!^-", max_size=24),
    width=st.integers(1, 100_000),
    height=st.integers(1, 100_000),
)
def test_region_parser_never_crashes_and_stays_inside(text: str, width: int, height: int) -> None:
    try:
        box = parse_region(text, width, height)
    except IiifError as exc:
        assert exc.status == 400
        return
    assert 0 <= box.x < width and 0 <= box.y < height
    assert 1 <= box.w <= width - box.x and 1 <= box.h <= height - box.y


@given(
    text=st.text(alphabet="0123456789,.:pctmax!^", max_size=20),
    w=st.integers(1, 50_000),
    h=st.integers(1, 50_000),
)
def test_size_parser_never_crashes_and_respects_limits(text: str, w: int, h: int) -> None:
    region = Box(0, 0, w, h)
    try:
        out_w, out_h = parse_size(text, region)
    except IiifError as exc:
        assert exc.status == 400
        return
    assert 1 <= out_w <= iiif.MAX_WIDTH and 1 <= out_h <= iiif.MAX_HEIGHT
    assert out_w * out_h <= iiif.MAX_AREA
    if not text.startswith("^"):
        assert out_w <= w and out_h <= h
