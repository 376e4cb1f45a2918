"""Filters that forgive: case, punctuation and the field's usual spellings find the stored value;
a value that matches nothing is said on stderr with the closest values; ``--marker`` finds
images by the markers of their channels."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.catalog import Catalog, FileFilter
from htan_cds.catalog.vocabulary import (
    ASSAY_GROUPS,
    CENTER_GROUPS,
    closest,
    match_keys,
    matching_values,
    word_matches,
)
from htan_cds.config import DataHome
from tests.conftest import run_cli, shared_path

# Stored spellings as real HTAN exports have them (ISB-CGC tables, the HTAN portal).
_IMAGES = {
    # drs id: (assay, center, organ, release, channels as (Channel_Name, Target))
    "dg.HCDS/i1": (
        "t-CyCIF",
        "HTAN HMS",
        "Colon, NOS",
        "Release 3.0",
        [("DNA_1", "DNA"), ("CD8a", "CD8A"), ("PD-1", "PDCD1"), ("CD45RO", "PTPRC")],
    ),
    "dg.HCDS/i2": (
        "CyCIF",
        "HTAN OHSU",
        "Breast, NOS",
        "Release 10.0",
        [("DNA_2", "DNA"), ("CD4", "CD4"), ("CD45", "PTPRC"), ("FOXP3", "FOXP3")],
    ),
    "dg.HCDS/i3": (
        "H&E",
        "HTAN TNP - TMA",
        "Skin of trunk",
        "Release 5.0",
        [("Red", None), ("Green", None), ("Blue", None)],
    ),
    "dg.HCDS/i4": ("mIHC", "HTAN WUSTL", "Pancreas, NOS", "Release 5.1", [("Cy5", "CD8A")]),
    "dg.HCDS/i5": ("MIBI", "HTAN SRRS", "Lung, NOS", "Release 5.0", [("Ki-67", "MKI67")]),
}


@pytest.fixture
def images_home(tmp_path: Path) -> Iterator[Path]:
    home = DataHome.open(tmp_path / "home")
    with Catalog.open(home) as catalog:
        rows = []
        channels = []
        for drs_id, (assay, center, organ, release, chans) in _IMAGES.items():
            rows.append(
                {
                    "drs_id": drs_id,
                    "name": drs_id.split("/")[1] + ".ome.tif",
                    "size": 1000,
                    "assay": assay,
                    "HTAN_Center": center,
                    "atlas_name": center,
                    "Tissue_or_Organ_of_Origin": organ,
                    "Data_Release": release,
                    "level": "Level 2",
                    "File_Format": "OME-TIFF",
                    "access": "open",
                    "created_time": datetime(2024, 1, 1),
                }
            )
            channels.extend(
                {"drs_id": drs_id, "channel_index": i, "Channel_Name": name, "Target": target}
                for i, (name, target) in enumerate(chans)
            )
        catalog.insert_rows("files", rows)
        catalog.insert_rows("channels", channels)
        catalog.refresh_derived()
    yield home.root


def _ids(catalog: Catalog, **facets: list[str]) -> list[str]:
    return sorted(catalog.find(FileFilter(**facets))["drs_id"])


@pytest.mark.parametrize(
    ("facet", "typed", "expected"),
    [
        ("assay", ["he"], ["i3"]),
        ("assay", ["H and E"], ["i3"]),
        ("assay", ["hematoxylin and eosin"], ["i3"]),
        ("assay", ["cycif"], ["i2"]),  # not t-CyCIF: a different method
        ("assay", ["T-CYCIF"], ["i1"]),
        ("assay", ["multiplex IHC"], ["i4"]),
        ("assay", ["mibi-tof"], ["i5"]),
        ("center", ["hms"], ["i1"]),
        ("center", ["HTA7"], ["i1"]),
        ("center", ["harvard medical school"], ["i1"]),
        ("center", ["tma"], ["i3"]),
        ("center", ["HTAN TNP TMA"], ["i3"]),
        ("center", ["washu", "ohsu"], ["i2", "i4"]),
        ("center", ["tnp srrs"], ["i5"]),
        ("atlas", ["wustl"], ["i4"]),
        ("organ", ["colon nos"], ["i1"]),
        ("organ", ["COLON"], ["i1"]),
        ("organ", ["skin of TRUNK"], ["i3"]),
        ("organ", ["skin"], ["i3"]),  # a site names the more specific ICD-O terms holding it
        ("organ", ["trunk"], ["i3"]),
        ("format", ["tif"], ["i1", "i2", "i3", "i4", "i5"]),
        ("format", ["TIFF"], ["i1", "i2", "i3", "i4", "i5"]),
        ("release", ["5"], ["i3", "i5"]),
        ("release", ["r10"], ["i2"]),
        ("release", ["release 5.1"], ["i4"]),
        ("format", ["ome.tif"], ["i1", "i2", "i3", "i4", "i5"]),
        ("level", ["l2"], ["i1", "i2", "i3", "i4", "i5"]),
    ],
)
def test_typed_spellings_find_stored_values(
    images_home: Path, facet: str, typed: list[str], expected: list[str]
) -> None:
    with Catalog.open(DataHome.open(images_home), read_only=True) as catalog:
        assert _ids(catalog, **{facet: typed}) == [f"dg.HCDS/{i}" for i in expected]
        resolution = catalog.resolve(FileFilter(**{facet: typed}))
        assert resolution.unmatched == []
        # Counts agree with the files found (facets resolve the same way).
        assert catalog.summary(FileFilter(**{facet: typed}))["files"] == len(expected)


@pytest.mark.parametrize(
    ("markers", "expected"),
    [
        (["CD8"], ["i1", "i4"]),  # CD8a by name, CD8A by target (Cy5 channel)
        (["cd8a"], ["i1", "i4"]),
        (["CD4"], ["i2"]),  # not CD45 nor CD45RO
        (["CD45"], ["i2"]),  # not CD45RO
        (["pd1"], ["i1"]),
        (["PDCD1"], ["i1"]),
        (["dna"], ["i1", "i2"]),  # DNA_1, DNA_2
        (["DAPI"], ["i1", "i2"]),  # nuclear stains by their other names
        (["hoechst 33342"], ["i1", "i2"]),
        (["MKI67"], ["i5"]),
        (["Ki67"], ["i5"]),
        (["ki67"], ["i5"]),
        (["CD8", "PD-1"], ["i1"]),  # every marker given
        (["CD4", "CD8"], []),
    ],
)
def test_marker_filter(images_home: Path, markers: list[str], expected: list[str]) -> None:
    with Catalog.open(DataHome.open(images_home), read_only=True) as catalog:
        assert _ids(catalog, marker=markers) == [f"dg.HCDS/{i}" for i in expected]


def test_level_and_format_spellings_reach_stored_values() -> None:
    levels = ["Level 1", "Level 2", "Auxiliary", "Other"]
    assert matching_values("level", "aux", levels) == ["Auxiliary"]
    assert matching_values("level", "L1", levels) == ["Level 1"]
    assert matching_values("level", "others", levels) == ["Other"]
    formats = ["OME-TIFF", "svs", "csv"]
    assert matching_values("format", "tif", formats) == ["OME-TIFF"]
    assert matching_values("format", "ome.tiff", formats) == ["OME-TIFF"]
    assert matching_values("format", "csv", formats) == ["csv"]


def test_word_fallback_needs_whole_words() -> None:
    organs = ["Skin of trunk", "Skin, NOS", "Colon, NOS", "Sigmoid colon", "Skeletal muscle"]
    assert word_matches("skin", organs) == ["Skin of trunk", "Skin, NOS"]
    assert word_matches("sk", organs) == []
    assert word_matches("of trunk", organs) == ["Skin of trunk"]
    assert word_matches("  ", organs) == []


def test_text_search_finds_markers_too(images_home: Path) -> None:
    with Catalog.open(DataHome.open(images_home), read_only=True) as catalog:
        assert _ids(catalog, text=["cd8"]) == ["dg.HCDS/i1", "dg.HCDS/i4"]
        assert _ids(catalog, text=["i3.ome"]) == ["dg.HCDS/i3"]


def _stderr_json(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_cli_find_forgives_and_says_what_matched_nothing(images_home: Path) -> None:
    home = str(images_home)
    found = run_cli("--home", home, "find", "--assay", "HE", "--center", "tma", "--json")
    assert found.returncode == 0, found.stderr
    payload = json.loads(found.stdout)
    assert payload["count"] == 1 and payload["files"][0]["assay"] == "H&E"
    assert payload["matched"] == {"assay": ["H&E"], "center": ["HTAN TNP - TMA"]}
    assert payload["unmatched"] == [] and found.stderr.strip() == ""

    miss = run_cli("--home", home, "find", "--assay", "cyclf")
    assert miss.returncode == 0
    warning = [line for line in miss.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "no assay matches 'cyclf'" in warning[0]
    assert "closest: CyCIF" in warning[0] and "Traceback" not in miss.stderr

    as_json = run_cli(
        "--home", home, "find", "--assay", "cyclf", "--marker", "CD99", "--organ", "colonn",
        "--json",
    )  # fmt: skip
    assert as_json.returncode == 0
    body = json.loads(as_json.stdout)
    assert body["count"] == 0
    unmatched = {u["facet"]: u for u in body["unmatched"]}
    assert set(unmatched) == {"assay", "marker", "organ"}
    assert unmatched["assay"]["closest"][0] == "CyCIF"
    assert unmatched["organ"]["closest"][0] == "Colon, NOS"
    assert "CD8a" in unmatched["marker"]["closest"] or "CD4" in unmatched["marker"]["closest"]
    warnings = _stderr_json(as_json.stderr)  # the same, structured, on stderr
    assert [w["warning"] for w in warnings] == ["no_match"] * 3
    assert {w["facet"] for w in warnings} == {"assay", "marker", "organ"}


def test_cli_marker_option_facets_and_manifest(images_home: Path, tmp_path: Path) -> None:
    home = str(images_home)
    found = run_cli("--home", home, "find", "--marker", "CD8", "--json")
    assert found.returncode == 0, found.stderr
    assert sorted(f["drs_id"] for f in json.loads(found.stdout)["files"]) == [
        "dg.HCDS/i1",
        "dg.HCDS/i4",
    ]
    facets = run_cli("--home", home, "facets", "--marker", "cd8", "--assay", "t-cycif", "--json")
    assert json.loads(facets.stdout)["summary"]["files"] == 1
    out = tmp_path / "m.csv"
    made = run_cli(
        "--home", home, "manifest", "create", "--marker", "foxp3", "--center", "ohsu",
        "-o", str(out), "--json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["rows"] == 1 and "i2.ome.tif" in out.read_text()


# -- the vocabulary itself --------------------------------------------------------------------


def test_every_imaging_assay_type_of_the_data_model_has_a_group() -> None:
    """The synonym table's first spellings are HTAN.model.csv's valid values, all of them."""
    path = shared_path("data", "htan", "HTAN.model.csv")
    with path.open(newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Attribute"] == "Imaging Assay Type")
    valid = [v.strip() for v in row["Valid Values"].split(",") if v.strip()]
    firsts = {group[0] for group in ASSAY_GROUPS}
    assert set(valid) <= firsts
    for value in valid:  # each valid value is found by itself, and only by itself
        others = [v for v in valid if v != value]
        assert matching_values("assay", value.upper(), valid) == [value]
        assert matching_values("assay", value, others) == []


def test_every_htan_center_id_of_the_data_model_is_known() -> None:
    path = shared_path("data", "htan", "HTAN.model.csv")
    with path.open(newline="") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Attribute"] == "HTAN Center ID")
    ids = {v.strip() for v in row["Valid Values"].split(",") if v.strip()}
    assert ids == {g[1] if len(g) > 1 else g[0] for g in CENTER_GROUPS}


@pytest.mark.parametrize("group", CENTER_GROUPS, ids=lambda g: g[0])
def test_every_center_spelling_finds_its_center(group: tuple[str, ...]) -> None:
    stored = [g[0] for g in CENTER_GROUPS]
    for spelling in group:
        assert matching_values("center", spelling.lower(), stored) == [group[0]]


@pytest.mark.parametrize("group", ASSAY_GROUPS, ids=lambda g: g[0])
def test_assay_groups_do_not_overlap(group: tuple[str, ...]) -> None:
    stored = [g[0] for g in ASSAY_GROUPS]
    for spelling in group:
        assert matching_values("assay", spelling, stored) == [group[0]]


@settings(max_examples=200, deadline=None)
@given(
    value=st.sampled_from([g[0] for g in ASSAY_GROUPS]),
    flips=st.lists(st.booleans(), min_size=40, max_size=40),
    spaces=st.sampled_from(["", " ", "-", "_", "."]),
)
def test_case_and_punctuation_never_matter(value: str, flips: list[bool], spaces: str) -> None:
    typed = "".join(c.upper() if f else c.lower() for c, f in zip(value, flips, strict=False))
    typed = typed.replace(" ", spaces).replace("-", spaces)
    assert match_keys("assay", value) & match_keys("assay", typed)


def test_closest_prefers_near_spellings() -> None:
    values = ["t-CyCIF", "CyCIF", "H&E", "MxIF", "CODEX", "IMC"]
    assert closest("cyclf", values)[0] == "CyCIF"
    assert closest("codx", values)[0] == "CODEX"
    assert len(closest("zzz", values, limit=3)) == 3
