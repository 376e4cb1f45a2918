"""Checks: each finding code on hand-made rows, limits, and repair's choices."""

from __future__ import annotations

from htan_cds.drs.prefixes import PrefixEntry, builtin_registry
from htan_cds.manifest import CODES, Checker, ManifestRow, check_rows, repair_rows

U1 = "drs://nci-crdc.datacommons.io/dg.4DFC/624649d2-7e68-11ee-8f1d-c3303a8d2065"
U2 = "drs://nci-crdc.datacommons.io/dg.4DFC/62467074-7e68-11ee-92d8-273c6ae268a6"
C2 = "dg.4DFC/62467074-7e68-11ee-92d8-273c6ae268a6"


def _rows(
    *specs: tuple[str, str | None] | tuple[str, str | None, dict[str, str]],
) -> list[ManifestRow]:
    rows = []
    for number, spec in enumerate(specs, start=1):
        meta = spec[2] if len(spec) == 3 else {}  # type: ignore[misc]
        rows.append(ManifestRow(spec[0], spec[1], meta, number))
    return rows


def _codes(rows: list[ManifestRow]) -> list[tuple[int | None, str]]:
    return [(f.row, f.code) for f in check_rows(rows).findings]


def test_clean_manifest_has_no_findings() -> None:
    report = check_rows(_rows((U1, "a.tif"), (U2, "b.tif")))
    assert report.ok and report.findings == [] and report.rows == 2


def test_every_uri_problem_has_its_code() -> None:
    rows = _rows(
        ("", "a"),
        ("https://example.org/x", "b"),
        ("drs://", "c"),
        (C2, "d"),
        ("drs://zz.9/abc:1", "e"),
        ("DRS://NCI-CRDC.DATACOMMONS.IO/dg.4DFC/x", "f"),
        ("drs://fake:123", "g"),
    )
    found = _codes(rows)
    assert (1, "uri_missing") in found
    assert (2, "uri_not_drs") in found
    assert (3, "uri_invalid") in found
    assert (4, "uri_compact") in found
    assert (6, "uri_not_canonical") in found
    assert (7, "uri_unknown_prefix") in found
    report = check_rows(rows)
    compact = next(f for f in report.findings if f.code == "uri_compact")
    assert compact.fixable and compact.severity == "error" and U2 in compact.message
    assert not report.ok


def test_duplicates_names_and_file_ids() -> None:
    rows = _rows(
        (U1, "a.tif", {"HTAN_Data_File_ID": "HTA1_1_1"}),
        (C2, "a.tif", {"HTAN_Data_File_ID": "HTA1_1_1"}),
        (U2, "c.tif", {"HTAN_Data_File_ID": "HTA1_1_2"}),
        (U1, "d.tif", {"HTAN_Data_File_ID": "HTA1_1_3"}),
    )
    report = check_rows(rows)
    found = [(f.row, f.code) for f in report.findings]
    # C2 and U2 are the same object, one compact and one full.
    assert (3, "uri_duplicate") in found
    assert (4, "uri_duplicate") in found
    assert (2, "name_duplicate") in found
    assert (2, "file_id_multiple_uris") in found
    assert report.stats["file_ids_with_several_uris"] == 1
    assert report.stats["duplicate_uris"] == 2
    dup = next(f for f in report.findings if f.row == 4 and f.code == "uri_duplicate")
    assert "row 1" in dup.message


def test_unsafe_and_missing_names() -> None:
    found = _codes(_rows((U1, "../etc/passwd"), (U2, None), (C2.replace("6246", "7777"), "x\x01")))
    assert (
        (1, "name_unsafe") in found and (2, "name_missing") in found and (3, "name_unsafe") in found
    )


def test_limits_are_warnings() -> None:
    rows = [
        ManifestRow(f"drs://nci-crdc.datacommons.io/dg.4DFC/id-{i}", f"f{i}.tif", {}, i)
        for i in range(1, 1002)
    ]
    report = check_rows(rows)
    assert report.ok
    limits = {f.code: f.message for f in report.findings if f.row is None}
    assert set(limits) == {"cgc_batch_limit", "cgc_rate_limit", "cds_cart_limit"}
    assert "11 calls" in limits["cgc_batch_limit"]
    assert "at least 10 minutes" in limits["cgc_rate_limit"]
    assert not check_rows(rows[:100]).findings


def test_findings_are_capped_per_code_but_counted() -> None:
    rows = [ManifestRow(f"dg.4DFC/id-{i}", f"f{i}", {}, i) for i in range(1, 51)]
    report = check_rows(rows, max_per_code=5)
    assert report.counts["uri_compact"] == 50
    assert len([f for f in report.findings if f.code == "uri_compact"]) == 5
    assert report.truncated and report.errors == 50


def test_checker_handles_unnumbered_and_out_of_order_rows() -> None:
    checker = Checker()
    checker.add(ManifestRow(U1, "a", {}, 10))
    checker.add(ManifestRow(U1, "b", {}, 20))
    report = checker.finish()
    assert [(f.row, f.code, f.message, f.value) for f in report.findings] == [
        (20, "uri_duplicate", f"{U1!r} is the same DRS object as row 10", U1)
    ]


def test_every_code_is_documented() -> None:
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "manifests.md"
    if docs.exists():
        text = docs.read_text()
        assert all(f"`{code}`" in text for code in CODES)


def test_repair_fixes_and_drops_with_reasons() -> None:
    rows = _rows(
        (U1, "a.tif"),
        (C2, "a.tif"),
        ("https://example.org/x", "b.tif"),
        (U2, "dup.tif"),
        ("dg.4DFC/abc", None),
        ("dg.4DFC/def", "../../x.tif"),
        (U1.replace("6246", "1111"), "a_2.tif"),
    )
    result = repair_rows(rows)
    out = {r.row_number: (r.drs_uri, r.name) for r in result.rows}
    assert out[2] == (U2, "a_2.tif")
    assert out[5] == ("drs://nci-crdc.datacommons.io/dg.4DFC/abc", "abc")
    assert out[6] == ("drs://nci-crdc.datacommons.io/dg.4DFC/def", "x.tif")
    assert out[7][1] == "a_2_2.tif"
    assert {(f.row, f.code) for f in result.dropped} == {(3, "uri_not_drs"), (4, "uri_duplicate")}
    assert all(f.message.startswith("dropped") for f in result.dropped)


def test_repair_uses_the_registry_for_other_prefixes() -> None:
    registry = builtin_registry()
    registry.register(PrefixEntry("dg.TEST", "127.0.0.1", 8000))
    result = repair_rows(_rows(("dg.TEST/abc", "a")), registry=registry)
    assert result.rows[0].drs_uri == "drs://127.0.0.1:8000/dg.TEST/abc"
    dropped = repair_rows(_rows(("dg.TEST/abc", "a"))).dropped
    assert [f.code for f in dropped] == ["uri_unknown_prefix"]


def test_large_batches_keep_row_numbers_and_find_cross_batch_duplicates() -> None:
    rows = [ManifestRow(f"dg.4DFC/id-{i}", f"f{i}.tif", {}, i) for i in range(1, 9001)]
    rows[8499] = ManifestRow("drs://nci-crdc.datacommons.io/dg.4DFC/id-3", "x.tif", {}, 8500)
    rows[100] = ManifestRow("bad uri", "f101.tif", {}, 101)
    report = check_rows(rows, max_per_code=10)
    assert report.rows == 9000
    assert report.counts["uri_compact"] == 8998 and report.stats["compact_uris"] == 8998
    assert [f.row for f in report.findings if f.code == "uri_compact"] == list(range(1, 11))
    assert [
        (f.row, f.code) for f in report.findings if f.code in ("uri_duplicate", "uri_invalid")
    ] == [
        (101, "uri_invalid"),
        (8500, "uri_duplicate"),
    ]
