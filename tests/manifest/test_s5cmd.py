"""The ``s5cmd`` manifest format: IDC's own files read, round trips, sniffing, refusals.

The sample lines are those of idc-index's test manifests (ImagingDataCommons/idc-index
``tests/study_manifest_aws.s5cmd``: a comment header, the BigQuery column name
``study_manifest_cp_command``, ``cp s3://idc-open-data/<uuid>/* .`` lines, some with two spaces
before the destination) and the quoted destinations idc-index writes itself
(``"cp " + s3_url + " " + '"' + path + '"'``).
"""

from __future__ import annotations

import io
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.errors import ManifestError
from htan_cds.manifest import ManifestRow, ReadContext, read_manifest, sniff_format, write_manifest

IDC_PORTAL = """# To download the files in this manifest, first install s5cmd (https://github.com/peak/s5cmd),
# then run the following command:
# s5cmd --no-sign-request --endpoint-url https://s3.amazonaws.com run study_manifest_aws.s5cmd
study_manifest_cp_command
cp s3://idc-open-data/28621ba9-1aca-4aab-a2a1-f6d2c3e2ab19/* .
cp s3://idc-open-data/35459457-bd4c-4eef-9579-47f12fc6928e/*  .
"""
IDC_INDEX = (
    "cp s3://idc-open-data/c27b80c9-0e90-416b-8eca-0b20bc0cf8e2/* "
    '"/data/htan_hms/HTA7_920/2.25.1/SM_1.2.3"\n'
    'sync s3://idc-open-data-two/9c9ab2bf-c784-4658-b0f9-d2e4b33f2dbf/* "/data/x y"\n'
)


def test_reads_idc_portal_manifest() -> None:
    ctx = ReadContext()
    rows = read_manifest(io.StringIO(IDC_PORTAL), context=ctx)
    assert [r.drs_uri for r in rows] == [
        "s3://idc-open-data/28621ba9-1aca-4aab-a2a1-f6d2c3e2ab19/*",
        "s3://idc-open-data/35459457-bd4c-4eef-9579-47f12fc6928e/*",
    ]
    assert [r.row_number for r in rows] == [1, 2]
    assert all(r.metadata == {"s5cmd_command": "cp", "destination": "."} for r in rows)
    assert not ctx.findings and ctx.header == ["study_manifest_cp_command"]
    assert sniff_format(IDC_PORTAL.splitlines()) == "s5cmd"


def test_reads_idc_index_quoted_destinations() -> None:
    rows = read_manifest(io.StringIO(IDC_INDEX), "s5cmd")
    assert rows[0].metadata["destination"] == "/data/htan_hms/HTA7_920/2.25.1/SM_1.2.3"
    assert rows[1].metadata == {"s5cmd_command": "sync", "destination": "/data/x y"}


def test_bad_lines_are_kept_with_a_finding() -> None:
    text = "cp s3://idc-open-data/abc/* .\nrm s3://idc-open-data/x/*\ncp s3://bucket/only\n"
    ctx = ReadContext()
    rows = read_manifest(io.StringIO(text), "s5cmd", context=ctx)
    assert len(rows) == 3  # every line ends in the output or a finding
    assert [f.row for f in ctx.findings] == [2, 3]
    assert all(f.code == "s5cmd_line" for f in ctx.findings)


def test_writer_refuses_drs_uris() -> None:
    with pytest.raises(ManifestError, match="not an s3:// URL"):
        write_manifest([ManifestRow("drs://host.org/abc", "a.tif")], io.StringIO(), "s5cmd")


_uuid = st.uuids().map(str)
_bucket = st.sampled_from(["idc-open-data", "idc-open-data-two", "idc-open-data-cr"])
_dest = st.one_of(
    st.just("."),
    st.text(string.ascii_letters + string.digits + "_-./ \"'\\", min_size=1, max_size=40).filter(
        lambda d: d.strip() == d and d
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["cp", "sync"]), _bucket, _uuid, _dest), max_size=20))
def test_round_trip(items: list[tuple[str, str, str, str]]) -> None:
    rows = [
        ManifestRow(f"s3://{b}/{u}/*", None, {"s5cmd_command": c, "destination": d}, i)
        for i, (c, b, u, d) in enumerate(items, start=1)
    ]
    out = io.StringIO()
    assert write_manifest(rows, out, "s5cmd") == len(rows)
    again = read_manifest(io.StringIO(out.getvalue()), "s5cmd")
    assert again == rows
    if rows:
        assert sniff_format(out.getvalue().splitlines()[:20]) == "s5cmd"


def test_check_accepts_bucket_prefixes(tmp_path: pytest.TempPathFactory) -> None:
    from tests.conftest import run_cli

    path = tmp_path / "idc.s5cmd"  # type: ignore[operator]
    path.write_text(IDC_PORTAL + "cp s3://idc-open-data/35459457-bd4c-4eef-9579-47f12fc6928e/* .\n")
    result = run_cli("manifest", "check", str(path), "--json")
    assert result.stdout, result.stderr
    report = __import__("json").loads(result.stdout)
    assert report["format"] == "s5cmd"
    codes = {f["code"] for f in report["findings"]}
    assert "uri_not_drs" not in codes and "name_missing" not in codes
    assert any(f["row"] == 3 for f in report["findings"])  # the repeated series
    bad = tmp_path / "bad.s5cmd"  # type: ignore[operator]
    bad.write_text("cp s3://idc-open-data/abc/* .\nrm s3://idc-open-data/x/*\n")
    flagged = __import__("json").loads(run_cli("manifest", "check", str(bad), "--json").stdout)
    assert any(f["code"] == "s5cmd_line" and f["row"] == 2 for f in flagged["findings"])
