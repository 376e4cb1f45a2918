"""The real manifests in ../shared/data/manifests: all check, all convert to CGC form."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from htan_cds.manifest import ManifestReader, check_rows, read_manifest, repair_rows, write_manifest
from tests.conftest import shared_path

# (file, format, rows, rows --fix keeps: one DRS URI per HTAN_Data_File_ID)
MANIFESTS = [
    ("isb-cgc_cds_imaging_manifest_full_uri.csv", "cgc", 30, 30),
    ("isb-cgc_gc_imaging_manifest_compact_uri.csv", "cgc", 30, 30),
    ("isb-cgc_cds_drs_map_r5_head100.csv", "bigquery", 100, 100),
    ("isb-cgc_gc_drs_map_current_head100.csv", "bigquery", 100, 86),
    ("htan-portal_issue688_manifest.csv", "htan-portal", 2, 2),
]


def _path(name: str) -> Path:
    return shared_path("data", "manifests", name)


@pytest.mark.parametrize(("name", "fmt", "rows", "fixed"), MANIFESTS)
def test_real_manifest_is_sniffed_checked_and_converted(
    name: str, fmt: str, rows: int, fixed: int
) -> None:
    with ManifestReader(_path(name)) as reader:
        read = list(reader)
        assert reader.format == fmt
    assert len(read) == rows
    report = check_rows(read)
    assert set(report.counts) <= {"uri_compact", "name_duplicate", "file_id_multiple_uris"}
    result = repair_rows(read, keep_all_uris=True)
    assert len(result.rows) == rows and not result.dropped
    assert all(r.drs_uri.startswith("drs://nci-crdc.datacommons.io/dg.4DFC/") for r in result.rows)
    out = io.StringIO(newline="")
    write_manifest(result.rows, out, "cgc")
    again = read_manifest(io.StringIO(out.getvalue(), newline=""))
    assert [r.metadata for r in again] == [r.metadata for r in read]
    assert check_rows(again).ok
    one_each = repair_rows(read)
    assert len(one_each.rows) == fixed
    assert len(one_each.rows) + len(one_each.dropped) == rows
    assert {f.code for f in one_each.dropped} <= {"file_id_multiple_uris"}


def test_compact_manifest_becomes_the_full_one() -> None:
    compact = read_manifest(_path("isb-cgc_gc_imaging_manifest_compact_uri.csv"))
    full = read_manifest(_path("isb-cgc_cds_imaging_manifest_full_uri.csv"))
    report = check_rows(compact)
    assert report.counts == {"uri_compact": 30} and not report.ok
    fixed = repair_rows(compact).rows
    assert [(r.drs_uri, r.name) for r in fixed] == [(r.drs_uri, r.name) for r in full]


def test_gc_drs_map_reports_the_14_double_uri_file_ids() -> None:
    rows = read_manifest(_path("isb-cgc_gc_drs_map_current_head100.csv"))
    report = check_rows(rows)
    assert report.stats["file_ids_with_several_uris"] == 14
    assert report.counts["file_id_multiple_uris"] == 14
    flagged = [f for f in report.findings if f.code == "file_id_multiple_uris"]
    ids = {rows[f.row - 1].metadata["HTAN_Data_File_ID"] for f in flagged if f.row}
    assert len(ids) == 14
    # Each finding names its file id, in the message and in ``value``.
    assert {f.value for f in flagged} == ids
    assert all(repr(f.value) in f.message for f in flagged)
    by_id: dict[str, set[str]] = {}
    for row in rows:
        by_id.setdefault(row.metadata["HTAN_Data_File_ID"], set()).add(row.drs_uri)
    assert ids == {fid for fid, uris in by_id.items() if len(uris) > 1}
    # --fix keeps one URI per file id (the first listed) and reports the other with its id;
    # --keep-all-uris keeps both and names them apart so the import does not collide.
    fixed = repair_rows(rows)
    assert len(fixed.rows) == 86 and len({r.name for r in fixed.rows}) == 86
    assert {f.value for f in fixed.dropped} == ids
    first_uri = {}
    for row in rows:
        first_uri.setdefault(row.metadata["HTAN_Data_File_ID"], row.drs_uri.rsplit("/", 1)[1])
    assert all(r.drs_uri.endswith(first_uri[r.metadata["HTAN_Data_File_ID"]]) for r in fixed.rows)
    both = repair_rows(rows, keep_all_uris=True)
    assert len(both.rows) == 100 and len({r.name for r in both.rows}) == 100


@pytest.mark.parametrize(
    "name",
    [
        "isb-cgc_imaging_level2_metadata_r5_rows.csv",
        "isb-cgc_imaging_level2_metadata_current_rows.csv",
    ],
)
def test_metadata_tables_without_uris_are_refused_clearly(name: str) -> None:
    from htan_cds.errors import ManifestFormatError

    with pytest.raises(ManifestFormatError, match="cannot tell the manifest format"):
        read_manifest(_path(name))
