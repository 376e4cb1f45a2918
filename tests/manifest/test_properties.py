"""Property tests: write→read round trips, repair accounts for every row, fast paths agree."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.drs.uri import DrsUriKind, parse_drs_uri
from htan_cds.manifest import (
    Checker,
    CheckReport,
    ManifestReader,
    ManifestRow,
    ReadContext,
    check_rows,
    read_manifest,
    repair_rows,
    write_manifest,
)
from htan_cds.manifest.names import is_safe_name
from htan_cds.manifest.uris import UriClassifier, UriStatus
from tests.manifest.strategies import any_uri, cells, compact_uri, full_uri

cell = cells(20)
name = st.one_of(st.none(), cell.filter(bool), st.sampled_from(["a.tif", "../x", "a/b.tif", ".."]))
META_KEYS = ["Participant ID", "note", "HTAN_Data_File_ID"]


@st.composite
def manifests(draw: st.DrawFn, uris: st.SearchStrategy[str] = any_uri) -> list[ManifestRow]:
    count = draw(st.integers(0, 12))
    rows = []
    pool = draw(st.lists(uris, min_size=1, max_size=6))
    for number in range(1, count + 1):
        uri = draw(st.one_of(st.sampled_from(pool), uris))
        meta = {k: draw(cell) for k in META_KEYS}
        rows.append(ManifestRow(uri, draw(name), meta, number))
    return rows


@settings(max_examples=200, deadline=None)
@given(manifests())
def test_repair_accounts_for_every_row_and_is_idempotent(rows: list[ManifestRow]) -> None:
    result = repair_rows(rows)
    kept = [r.row_number for r in result.rows]
    dropped = [f.row for f in result.dropped]
    assert sorted(kept + dropped) == [r.row_number for r in rows]  # every row, exactly once
    names = [r.name for r in result.rows]
    assert len(set(names)) == len(names)
    assert all(n is not None and is_safe_name(n) for n in names)
    assert all(parse_drs_uri(r.drs_uri).kind is DrsUriKind.HOSTNAME for r in result.rows)
    assert len({r.drs_uri for r in result.rows}) == len(result.rows)
    originals = {r.row_number: r for r in rows}
    assert all(r.metadata == originals[r.row_number].metadata for r in result.rows)
    again = repair_rows(result.rows)
    assert again.rows == result.rows and again.findings == []
    report = check_rows(result.rows)
    assert report.ok


@settings(max_examples=200, deadline=None)
@given(manifests())
def test_check_counts_match_repair(rows: list[ManifestRow]) -> None:
    report = check_rows(rows)
    assert report.rows == len(rows)
    result = repair_rows(rows)
    if report.ok:
        # A manifest without errors loses only what check warned of: a repeated URI, or another
        # URI of an HTAN file id already kept (issue 13: one download per file by default).
        codes = [f.code for f in result.dropped]
        for code in set(codes):
            assert code in ("uri_duplicate", "file_id_multiple_uris")
            assert codes.count(code) <= report.counts.get(code, 0)
        assert not repair_rows(rows, keep_all_uris=True).dropped or report.counts.get(
            "uri_duplicate"
        )


@settings(max_examples=400, deadline=None)
@given(st.one_of(any_uri, st.text(max_size=60)))
def test_uri_fast_paths_agree_with_the_parser(text: str) -> None:
    classifier = UriClassifier()
    verdict = classifier.classify(text)
    slow = classifier._slow(text)
    assert verdict == slow or (verdict.status == slow.status and verdict.full == slow.full)
    if classifier.full_matcher(text) is not None:
        assert slow.status is UriStatus.FULL and slow.full == text


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(full_uri, any_uri), min_size=1, max_size=30))
def test_bulk_uri_check_agrees(uris: list[str]) -> None:
    classifier = UriClassifier()
    if classifier.all_full(uris):
        for uri in uris:
            verdict = classifier._slow(uri)
            assert verdict.status is UriStatus.FULL and verdict.full == uri


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(compact_uri, any_uri), min_size=1, max_size=30))
def test_bulk_compact_check_agrees(uris: list[str]) -> None:
    classifier = UriClassifier()
    bulk = classifier.all_compact(uris)
    if bulk is not None:
        head, base = bulk
        for uri in uris:
            verdict = classifier._slow(uri)
            assert verdict.status is UriStatus.COMPACT
            assert verdict.full == base + uri[len(head) :]


def _check_by_columns(text: str, fmt: str) -> CheckReport:
    from htan_cds.manifest.checks import FILE_ID_COLUMNS

    checker = Checker(max_per_code=0)
    with ManifestReader(io.StringIO(text, newline=""), fmt) as reader:
        for batch in reader.iter_columns(FILE_ID_COLUMNS):
            checker.add_columns(batch)
        found = reader.context
        checker.add_findings(found.findings)
    return checker.finish(fmt, delimiter=found.delimiter, blank_rows=found.blank_rows)


def _check_by_rows(text: str, fmt: str) -> CheckReport:
    context = ReadContext()
    rows = read_manifest(io.StringIO(text, newline=""), fmt, context=context)
    checker = Checker(max_per_code=0)
    checker.add_many(rows)
    checker.add_findings(context.findings)
    return checker.finish(fmt, delimiter=context.delimiter, blank_rows=context.blank_rows)


@settings(max_examples=150, deadline=None)
@given(
    manifests(),
    st.sampled_from(["cgc", "cds-portal", "htan-portal"]),
    st.lists(
        st.sampled_from(["\n", "\r\n", "x,y,z,w,v,u,t,s,r,q,p\n", "only\n", ",,,\n", " , \n"]),
        max_size=3,
    ),
)
def test_column_batches_check_like_rows(rows: list[ManifestRow], fmt: str, junk: list[str]) -> None:
    buffer = io.StringIO(newline="")
    write_manifest(rows, buffer, fmt)
    text = buffer.getvalue() + "".join(junk)
    by_columns, by_rows = _check_by_columns(text, fmt), _check_by_rows(text, fmt)
    assert by_columns.to_dict() == by_rows.to_dict()


@pytest.mark.parametrize("fmt", ["cgc", "cds-portal", "htan-portal"])
@pytest.mark.parametrize("blank", ["\t", "\r", " \r\n"])
def test_a_formula_escaped_blank_row_is_blank_on_both_paths(fmt: str, blank: str) -> None:
    """A row whose only value is white space the writer escaped ('\t: OWASP's list includes tab
    and CR) is a blank row to the column path too (hypothesis found the difference)."""
    rows = [
        ManifestRow("", None, {"note": blank}, 1),
        ManifestRow("drs://h.org/x", "a.tif", {"note": ""}, 2),
    ]
    buffer = io.StringIO(newline="")
    write_manifest(rows, buffer, fmt)
    by_columns = _check_by_columns(buffer.getvalue(), fmt)
    assert by_columns.to_dict() == _check_by_rows(buffer.getvalue(), fmt).to_dict()
    assert by_columns.blank_rows == 1 and by_columns.rows == 1


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.text(st.sampled_from('drs_uri,name"\t\r\n[]{}:dg.4DFC/ax\x00\ufeff'), max_size=200).map(
            str.encode
        ),
        st.sampled_from([b"drs_uri,name\n", b"[", b"{}", b"[1, null]", b'[{"object_id": 5}]']),
    ),
    st.sampled_from(["auto", "cgc", "cds-portal", "gen3", "htan-portal", "bigquery"]),
)
def test_any_bytes_read_or_fail_with_one_manifest_error(data: bytes, fmt: str) -> None:
    import tempfile
    from pathlib import Path

    from htan_cds.errors import HtanCdsError

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.csv"
        path.write_bytes(data)
        try:
            rows = read_manifest(path, fmt)
        except HtanCdsError:
            return
        check_rows(rows)
        repair_rows(rows)


_loopback_uri = st.builds(
    lambda host, port, ident: f"drs://{host}:{port}/{ident}",
    st.one_of(
        st.just("localhost"),
        st.builds(
            lambda a, b, c: f"127.{a}.{b}.{c}",
            *(st.integers(0, 300).map(str) | st.sampled_from(["00", "01", "255", "256"]),) * 3,
        ),
    ),
    st.integers(0, 70000).map(str) | st.sampled_from(["08000", "0", "65535", "65536"]),
    st.sampled_from(["dg.HCDS/2076d932-919c-41ed", "a", "a/b", "a/b/c", ".x", "a/..", "x~y_z"]),
)


@settings(max_examples=300, deadline=None)
@given(_loopback_uri)
def test_loopback_fast_path_agrees_with_the_parser(text: str) -> None:
    # A local commons' URIs (drs://127.0.0.1:PORT/...) take the regular-expression fast path;
    # whatever it accepts, the parser must accept as the same canonical full URI.
    classifier = UriClassifier()
    slow = classifier._slow(text)
    if classifier.full_matcher(text) is not None:
        assert slow.status is UriStatus.FULL and slow.full == text
    assert classifier.classify(text) == slow
