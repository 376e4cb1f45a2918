"""``manifest convert``'s column path gives the row path's bytes and report, for any manifest.

The row path (``convert_manifest(..., columns=False)``) is the reference: it reads row objects
and writes them with the format's writer. The column path (the default for delimited input
written as ``cgc`` to a file) must write byte-identical output and an identical report for
every input — random delimiters, BOM and CRLF, blank rows, short and long rows, unnamed and
duplicate columns, quotes and line breaks in cells, formula triggers and escapes, hostile names,
compact / full / odd / repeated URIs, HTAN file ids with several URIs, a catalog-like URI
preference — and raise the same error when the row path does. Batches are made tiny (3 rows)
as well as left at their size, so every bulk path and its fallbacks run on small inputs.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htan_cds.errors import HtanCdsError
from htan_cds.manifest import checks, convert, files, registry, repair
from htan_cds.manifest._check_aside import CheckAside, aside_pays
from htan_cds.manifest.convert import ConvertRequest, ConvertResult, convert_manifest
from htan_cds.manifest.formats import _records, _tabular, _writing
from htan_cds.manifest.formats._records import NeedsRows
from tests.manifest.strategies import FULL, cells, drs_uris

HEADERS = [
    "drs_uri",
    "name",
    "HTAN_Data_File_ID",
    "data_file_id",
    "HTAN Data File ID",
    "htan data file id",
    "note",
    "note",
    "",
    "Name",
    "object_id",
    "=SUM(A1)",
]
text = cells(8)
uri = drs_uris(
    st.sampled_from(
        [
            FULL + "a",
            FULL + "a",
            "dg.4DFC/a",
            "drs://DG.4DFC/a",
            " drs://nci-crdc.datacommons.io/dg.4DFC/b ",
            "drs://example.org/abc",
            "https://example.org/file",
            "dg.XXXX/zz",
            "",
            "  ",
            "'=x",
            "-1",
            "not a uri",
        ]
    ),
    text,
)
name = st.one_of(
    st.sampled_from(
        [
            "a.tif",
            "a.tif",
            "A.TIF",
            "C:\\Users\\x\\evil.tif",
            "CON",
            "com1.txt",
            "x.",
            "../up",
            "=HYPERLINK(1)",
            "'-1.tif",
            "-1.tif",
            '"q",x',
            "line\nbreak",
            "cr\rhere",
            "",
            " ",
            "caf\u00e9.tif",
            "e\u0301.tif",
        ]
    ),
    text,
)
file_id = st.one_of(st.sampled_from(["", "HTA1_1", "HTA1_1", "HTA1_2", "=1", "@x"]), text)
cell = st.one_of(st.sampled_from(["", "x", "'+1", "a,b", "a;b", "a\tb", '"']), text)


@st.composite
def manifests(draw: st.DrawFn) -> tuple[bytes, dict[str, object]]:
    """A delimited manifest file's bytes and the convert options to run it with."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    columns = draw(st.lists(st.sampled_from(HEADERS), min_size=0, max_size=6))
    uri_column = draw(st.sampled_from(["drs_uri", "drs_uri", "object_id"]))
    header = [uri_column, *columns] if draw(st.booleans()) else [*columns, uri_column]
    pool = draw(st.lists(uri, min_size=1, max_size=5))
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(0, 14))):
        shape = draw(st.sampled_from(["row"] * 6 + ["blank", "short", "long", "long-empty"]))
        if shape == "blank":
            rows.append([""] * draw(st.integers(0, len(header) + 1)))
            continue
        values = []
        for column in header:
            if column in ("drs_uri", "object_id"):
                values.append(draw(st.one_of(st.sampled_from(pool), uri)))
            elif column.lower() == "name":
                values.append(draw(name))
            elif "file" in column.lower():
                values.append(draw(file_id))
            else:
                values.append(draw(cell))
        if shape == "short":
            values = values[: draw(st.integers(0, len(values)))]
        elif shape == "long":
            values += draw(st.lists(cell, min_size=1, max_size=2))
        elif shape == "long-empty":
            values += ["", ""]
        rows.append(values)
    out = io.StringIO()
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    writer = csv.writer(out, delimiter=delimiter, lineterminator=ending)
    writer.writerow(header)
    writer.writerows(rows)
    data = ("\ufeff" if draw(st.booleans()) else "") + out.getvalue()
    fix = draw(st.booleans())
    options: dict[str, object] = {
        "fix": fix,
        "keep_all_uris": fix and draw(st.booleans()),
        "keep_delimiter": draw(st.booleans()),
        "escape_formulas": draw(st.booleans()),
        "drs_column": "object_id" if uri_column == "object_id" else None,
        "prefer": draw(st.none() | st.dictionaries(file_id, st.sampled_from(pool), max_size=3)),
    }
    return data.encode("utf-8"), options


class _Preference:
    """A URI preference like the catalog's (``catalog/manifests.CatalogUriPreference``)."""

    rule = "the test's pick"

    def __init__(self, picks: dict[str, str]) -> None:
        self._picks = picks

    def picks(self, file_ids: Sequence[str]) -> dict[str, str]:
        return {f: self._picks[f] for f in file_ids if f in self._picks}


@contextlib.contextmanager
def _batch_rows(size: int) -> Iterator[None]:
    """Every module's batch size set to ``size`` (both paths see the same batches)."""
    with pytest.MonkeyPatch.context() as patch:
        for module in (registry, files, _tabular, _records, _writing, repair):
            patch.setattr(module, "BATCH_ROWS", size)
        patch.setattr(checks, "_BATCH", size)
        yield


def _run(
    source: Path, out: Path, options: dict[str, object], *, columns: bool
) -> tuple[ConvertResult | None, str | None]:
    opts = dict(options)
    picks = opts.pop("prefer")
    request = ConvertRequest(str(source), "cgc", str(out), **opts)  # type: ignore[arg-type]
    prefer = _Preference(picks) if isinstance(picks, dict) and opts["fix"] else None
    if opts["keep_all_uris"]:
        prefer = None
    try:
        return convert_manifest(request, prefer=prefer, columns=columns, check_aside=True), None
    except HtanCdsError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _compare(tmp_path: Path, data: bytes, options: dict[str, object]) -> ConvertResult | None:
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    rows_out, cols_out = tmp_path / "rows.csv", tmp_path / "cols.csv"
    for stale in (rows_out, cols_out):
        stale.unlink(missing_ok=True)
    by_rows, row_error = _run(source, rows_out, options, columns=False)
    by_cols, col_error = _run(source, cols_out, options, columns=True)
    assert col_error == row_error
    if by_rows is None or by_cols is None:
        assert by_rows is by_cols is None
        assert not cols_out.exists()
        return None
    assert cols_out.read_bytes() == rows_out.read_bytes()
    assert by_cols.payload == {**by_rows.payload, "output": str(cols_out)}
    assert by_cols.failed == by_rows.failed
    if by_rows.payload["fix"]:
        # Nothing lost: every row read is written or reported as dropped.
        dropped = by_rows.payload["dropped"]
        assert isinstance(dropped, list)
        assert by_rows.payload["rows_in"] == by_rows.payload["rows_out"] + len(dropped)
    return by_rows


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(manifests(), st.sampled_from([1, 3, 4096]))
def test_column_path_writes_the_row_paths_bytes_and_report(
    tmp_path: Path, manifest: tuple[bytes, dict[str, object]], batch: int
) -> None:
    data, options = manifest
    with _batch_rows(batch):
        _compare(tmp_path, data, options)


def _big(rows: int, *, compact: bool, odd: bool) -> bytes:
    out = io.StringIO()
    out.write("drs_uri,name,HTAN_Data_File_ID,HTAN_Center\n")
    for i in range(rows):
        uri = f"{'' if compact else 'drs://nci-crdc.datacommons.io/'}dg.4DFC/{i:08d}-aaaa"
        out.write(f"{uri},f_{i}.tif,HTA9_1_{i},HTAN HMS\n")
        if odd and i % 1500 == 7:
            out.write(",,,\n")  # a blank row
            out.write(f"{uri},f_{i}.tif,HTA9_1_{i},HTAN HMS\n")  # the same object again
            out.write(f"{uri}x,CON,HTA9_1_{i},'=1\n")  # a second URI for a file id
            out.write(f'{uri}y,"a,b",,"two\nlines"\n')
    return out.getvalue().encode()


@pytest.mark.parametrize("aside", [False, True])
@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("odd", [False, True])
def test_column_path_at_full_batch_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compact: bool, odd: bool, aside: bool
) -> None:
    """Several real-size batches, plain and with odd rows here and there: same bytes, report
    (``aside``: checked in a child process, as inputs of 32 MiB and more are when a core is
    free)."""
    if aside:
        monkeypatch.setattr(convert, "aside_pays", lambda size: True)
    data = _big(10_000, compact=compact, odd=odd)
    options: dict[str, object] = {
        "fix": True,
        "keep_all_uris": False,
        "keep_delimiter": False,
        "escape_formulas": True,
        "drs_column": None,
        "prefer": None,
    }
    result = _compare(tmp_path, data, options)
    assert result is not None and result.payload["rows_in"] == 10_000 + (21 if odd else 0)
    _compare(tmp_path, data, {**options, "fix": False})


@pytest.mark.parametrize("aside", [False, True])
def test_a_row_with_extra_cells_falls_back_to_the_row_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aside: bool
) -> None:
    """Extra non-empty cells become ``extra_N`` metadata only the row path writes."""
    if aside:
        monkeypatch.setattr(convert, "aside_pays", lambda size: True)
    data = f"drs_uri,name\n{FULL}a,a.tif\n{FULL}b,b.tif,surplus\n".encode()
    options: dict[str, object] = {
        "fix": True,
        "keep_all_uris": False,
        "keep_delimiter": False,
        "escape_formulas": True,
        "drs_column": None,
        "prefer": None,
    }
    result = _compare(tmp_path, data, options)
    assert result is not None
    assert (tmp_path / "cols.csv").read_text().splitlines()[0] == "name,drs_uri,extra_1"


def test_a_malformed_input_fails_alike_with_the_check_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error while converting stops the child and leaves no output, as on the row path."""
    from htan_cds.manifest import files

    monkeypatch.setattr(convert, "aside_pays", lambda size: True)
    # Past the lines read to sniff the format and the bytes read to sniff the encoding (UTF-8
    # then): the child is running when the parent fails.
    monkeypatch.setattr(files, "SNIFF_BYTES", 4096)
    data = _big(5000, compact=False, odd=False) + FULL.encode() + b"a,\xff\xfe.tif\n"
    options: dict[str, object] = {
        "fix": True,
        "keep_all_uris": False,
        "keep_delimiter": False,
        "escape_formulas": True,
        "drs_column": None,
        "prefer": None,
    }
    assert _compare(tmp_path, data, options) is None


def test_only_a_big_input_on_a_machine_with_a_free_core_is_checked_aside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not aside_pays(None)
    assert not aside_pays(1024)
    monkeypatch.setattr(os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    assert not aside_pays(1 << 30)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert aside_pays(1 << 30)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert not aside_pays(1 << 30)


def test_a_check_process_that_fails_sends_the_conversion_row_by_row() -> None:
    """The child ends without a report (here: it cannot open the file): no hang, no traceback,
    :class:`NeedsRows` (the caller converts again in-process)."""
    aside = CheckAside("/nonexistent/manifest.csv", "auto", None, None, None)
    try:
        with pytest.raises(NeedsRows):
            aside.result()
    finally:
        aside.close()
