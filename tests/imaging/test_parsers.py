"""Parsers: channel tables (HTAN CSV, markers.csv, bare lists) and Aperio descriptions."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from htan_cds.imaging.channels_csv import _FIELDS, join_channels, parse_channel_table
from htan_cds.imaging.model import Channel, ImageInfo
from htan_cds.imaging.tiff import parse_svs_description

# Header words make a file a table rather than a bare list of names; marker names avoid them.
_HEADERS = {n.replace("_", " ") for spellings in _FIELDS.values() for n in spellings}

# Marker-like names: no separators or quotes that would make a one-column file ambiguous.
names = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="-_+"),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s.lower().replace("_", " ") not in _HEADERS)


@given(st.lists(names, min_size=1, max_size=30))
def test_bare_list_round_trips(values: list[str]) -> None:
    rows = parse_channel_table("\n".join(values) + "\n")
    assert [r.name for r in rows] == values


@given(
    st.lists(st.tuples(names, names, st.integers(1, 20)), min_size=1, max_size=20),
    st.sampled_from([",", "\t"]),
)
def test_htan_channel_metadata_round_trips(
    values: list[tuple[str, str, int]], delimiter: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["Channel ID", "Channel Name", "Target Name", "Cycle Number", "Clone"])
    for i, (name, target, cycle) in enumerate(values):
        writer.writerow([f"Channel:0:{i}", name, target, cycle, "AB-1"])
    rows = parse_channel_table(buffer.getvalue())
    assert [(r.name, r.target, r.cycle_number) for r in rows] == values
    assert all(r.extra == {"Clone": "AB-1"} for r in rows)
    assert rows[0].id == "Channel:0:0"


def test_mcmicro_markers_csv_by_channel_number() -> None:
    text = "cycle,marker_name,channel_number\n1,DAPI,1\n1,CD3,2\n2,DAPI_2,5\n"
    rows = parse_channel_table(text)
    assert [(r.name, r.cycle_number, r.number) for r in rows] == [
        ("DAPI", 1, 1),
        ("CD3", 1, 2),
        ("DAPI_2", 2, 5),
    ]
    info = ImageInfo(source="x", format="ome-tiff", size_x=1, size_y=1, size_c=5)
    join_channels(info, rows)
    assert [c.name for c in info.channels] == ["DAPI", "CD3", None, None, "DAPI_2"]
    assert info.channels[4].cycle_number == 2


def test_join_keeps_ome_names_and_adds_targets() -> None:
    info = ImageInfo(
        source="x",
        format="ome-tiff",
        size_x=1,
        size_y=1,
        size_c=2,
        channels=[Channel(0, name="DNA1"), Channel(1)],
    )
    rows = parse_channel_table(
        "Channel Name,Target Name,Antibody Name\nDAPI,DNA,\nCD8a,CD8,C8/144B\n"
    )
    join_channels(info, rows)
    assert [c.name for c in info.channels] == ["DNA1", "CD8a"]
    assert [c.target for c in info.channels] == ["DNA", "CD8"]
    assert info.channels[1].antibody_name == "C8/144B"
    assert info.channel_rows("d")[1]["Antibody_Name"] == "C8/144B"


def test_empty_and_bom() -> None:
    assert parse_channel_table("") == []
    assert [r.name for r in parse_channel_table("\ufeffDAPI\nCD3\n")] == ["DAPI", "CD3"]


@given(st.dictionaries(names, st.text(alphabet="0123456789. abc", max_size=10), max_size=10))
def test_svs_description_round_trips(items: dict[str, str]) -> None:
    body = "|".join(f"{k} = {v}" for k, v in items.items())
    text = f"Aperio Image Library v12.0.0\r\n46000x32914 (256x256) JPEG/RGB Q=70|{body}"
    parsed = parse_svs_description(text)
    assert parsed["Library"] == "Aperio Image Library v12.0.0"
    for key, value in items.items():
        assert parsed[key] == value.strip()


@given(st.text(max_size=200))
def test_svs_description_never_raises(text: str) -> None:
    result = parse_svs_description(text)
    assert isinstance(result, dict)
    if not text.startswith("Aperio"):
        assert result == {}
