"""Manifests as spreadsheets write them: ; and tab delimiters, blank rows, unnamed columns.

Inputs are small files written here, shaped as Excel / LibreOffice / Google Sheets save them
(European-locale CSV uses ``;``; "Text (tab-delimited)" uses tab; an empty row is ``;;`` or
``,,``; a stray trailing delimiter adds a column with no header).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.errors import ManifestError, ManifestFormatError
from htan_cds.manifest import (
    ManifestReader,
    ReadContext,
    Repairer,
    check_rows,
    read_manifest,
    write_manifest,
)
from htan_cds.manifest.names import is_safe_file_name
from tests.conftest import run_cli
from tests.manifest.strategies import any_uri, cells

U1 = "drs://nci-crdc.datacommons.io/dg.4DFC/624649d2-7e68-11ee-8f1d-c3303a8d2065"
U2 = "drs://nci-crdc.datacommons.io/dg.4DFC/62467074-7e68-11ee-92d8-273c6ae268a6"
U3 = "drs://nci-crdc.datacommons.io/dg.4DFC/7e5b3c1e-7e68-11ee-92d8-273c6ae268a6"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("delimiter", "line_end", "bom"),
    [(";", "\r\n", "\ufeff"), (";", "\n", ""), ("\t", "\r\n", ""), ("\t", "\n", "\ufeff")],
)
def test_semicolon_and_tab_files_read_with_their_delimiter(
    delimiter: str, line_end: str, bom: str
) -> None:
    d = delimiter
    text = (
        f"{bom}name{d}drs_uri{d}note{line_end}"
        f'a.tif{d}{U1}{d}"x{d} y"{line_end}'
        f"b.tif{d}{U2}{d}1,5{line_end}"
    )
    for fmt in ("auto", "cgc"):
        context = ReadContext()
        rows = read_manifest(io.StringIO(text, newline=""), fmt, context=context)
        assert [(r.drs_uri, r.name) for r in rows] == [(U1, "a.tif"), (U2, "b.tif")]
        # The delimiter inside quotes, and a decimal comma in a ; file, stay in the value.
        assert [r.metadata["note"] for r in rows] == [f"x{d} y", "1,5"]
        assert context.delimiter == delimiter


def test_check_reports_delimiter_and_keep_delimiter_writes_it_back(tmp_path: Path) -> None:
    src = _write(tmp_path, "eu.csv", f"drs_uri;name;sample\r\n{U1};a.tif;S1\r\n{U2};b.tif;S2\r\n")
    check = run_cli("manifest", "check", str(src), "--json")
    assert check.returncode == 0, check.stderr
    data = json.loads(check.stdout)
    assert data["delimiter"] == ";" and data["rows"] == 2 and data["format"] == "cgc"
    human = run_cli("manifest", "check", str(src))
    assert "semicolon-separated" in human.stderr
    out = tmp_path / "out.csv"
    kept = run_cli(
        "manifest", "convert", str(src), "--to", "htan-portal", "-o", str(out), "--keep-delimiter"
    )
    assert kept.returncode == 0, kept.stderr
    assert out.read_text().splitlines()[0].startswith("drs_uri;name;atlas_name;")
    assert [r.name for r in read_manifest(out)] == ["a.tif", "b.tif"]
    # CGC reads comma- and tab-separated manifests only: one clear line, nothing written.
    refused = run_cli(
        "manifest", "convert", str(src), "--to", "cgc", "-o", str(tmp_path / "c.csv"),
        "--keep-delimiter",
    )  # fmt: skip
    assert refused.returncode == 2
    assert "cgc cannot be written semicolon-separated" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "c.csv").exists()
    plain = run_cli("manifest", "convert", str(src), "--to", "cgc", "-o", str(tmp_path / "c.csv"))
    assert plain.returncode == 0, plain.stderr
    assert (tmp_path / "c.csv").read_text().splitlines()[0] == "name,drs_uri,sample"


def test_blank_rows_are_skipped_and_counted_not_errors(tmp_path: Path) -> None:
    src = _write(
        tmp_path,
        "blank.csv",
        f"name;drs_uri;note\r\n;;\r\na.tif;{U1};x\r\n;;\r\n\r\n ; ;\r\nb.tif;{U2};y\r\n;;\r\n",
    )
    check = run_cli("manifest", "check", str(src), "--json")
    assert check.returncode == 0, check.stderr
    data = json.loads(check.stdout)
    assert data["rows"] == 2 and data["blank_rows"] == 5
    assert data["counts"] == {}  # no uri_missing, no false uri_duplicate
    out, report = tmp_path / "fixed.csv", tmp_path / "report.json"
    fixed = run_cli(
        "manifest", "convert", str(src), "--to", "cgc", "-o", str(out), "--fix",
        "--report", str(report),
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr
    payload = json.loads(report.read_text())
    assert payload["rows_in"] == 2 and payload["rows_out"] == 2 and payload["blank_rows"] == 5
    assert payload["dropped"] == []
    assert [r.row_number for r in read_manifest(out)] == [1, 2]


@pytest.mark.parametrize("extra", [1, 3])
def test_trailing_delimiter_column_is_dropped_everywhere(tmp_path: Path, extra: int) -> None:
    # Excel writes the stray columns on every line, header included (one per cell once used).
    commas = "," * extra
    text = f"drs_uri,name{commas}\n{U1},a.tif{commas}\n{U2},b.tif{commas}\n"
    src = _write(tmp_path, "trail.csv", text)
    context = ReadContext()
    rows = read_manifest(src, context=context)
    assert [r.metadata for r in rows] == [{}, {}]
    dropped = list(range(3, 3 + extra))
    assert context.dropped_columns == dropped and context.findings == []  # no "duplicates"
    cgc, gen3 = io.StringIO(newline=""), io.StringIO()
    write_manifest(rows, cgc, "cgc")
    write_manifest(rows, gen3, "gen3")
    assert cgc.getvalue().splitlines() == ["name,drs_uri", f"a.tif,{U1}", f"b.tif,{U2}"]
    assert '""' not in gen3.getvalue()
    # The same file through stdin (spooled, so the column can be looked at before reading).
    check = run_cli("manifest", "check", "-", "--json", input=src.read_text())
    assert check.returncode == 0, check.stderr
    data = json.loads(check.stdout)
    assert data["dropped_columns"] == dropped and data["warnings"] == 0


def test_unnamed_column_with_values_is_kept_with_a_warning() -> None:
    text = f"drs_uri,name,,note\n{U1},a.tif,,n1\n{U2},b.tif,keep me,n2\n"
    context = ReadContext()
    rows = read_manifest(io.StringIO(text, newline=""), context=context)
    assert [r.metadata for r in rows] == [
        {"column_3": "", "note": "n1"},
        {"column_3": "keep me", "note": "n2"},
    ]
    (finding,) = context.findings
    assert finding.code == "header_missing" and finding.value == "column_3"
    assert "column 3" in finding.message


def test_rows_longer_only_by_empty_cells_are_not_ragged() -> None:
    text = f"drs_uri,name\n{U1},a.tif,,\n{U2},b.tif,extra\n"
    context = ReadContext()
    rows = read_manifest(io.StringIO(text, newline=""), context=context)
    assert rows[0].metadata == {} and rows[1].metadata == {"extra_1": "extra"}
    assert [(f.row, f.code) for f in context.findings] == [(2, "row_shape")]


def test_not_a_manifest_is_one_clear_line(tmp_path: Path) -> None:
    src = _write(tmp_path, "people.csv", "first;last\nAda;Lovelace\n")
    result = run_cli("manifest", "check", str(src))
    assert result.returncode == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) <= 2 and "cannot tell the manifest format" in result.stderr
    assert "--drs-column" in result.stderr and "Traceback" not in result.stderr


def test_drs_and_name_columns_name_any_table(tmp_path: Path) -> None:
    text = f"File;Link;Sample\r\nx.tif;{U1};S1\r\ny.tif;{U2};S2\r\n"
    with ManifestReader(
        io.StringIO(text, newline=""), drs_column="link", name_column="File"
    ) as reader:
        rows = list(reader)
        assert reader.format == "table"
    assert [(r.drs_uri, r.name, r.metadata) for r in rows] == [
        (U1, "x.tif", {"Sample": "S1"}),
        (U2, "y.tif", {"Sample": "S2"}),
    ]
    with pytest.raises(ManifestFormatError, match="no Nope column"):
        read_manifest(io.StringIO(text, newline=""), drs_column="Nope")
    with pytest.raises(ManifestFormatError, match="delimited files"):
        read_manifest(io.StringIO("[]", newline=""), drs_column="x")
    src = _write(tmp_path, "t.csv", text)
    out = tmp_path / "t.tsv"
    result = run_cli(
        "manifest", "convert", str(src), "--drs-column", "Link", "--name-column", "File",
        "--to", "terra", "-o", str(out), "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["input_format"] == "table"
    assert out.read_text().splitlines()[0] == "entity:file_id\tdrs_uri\tfile_name\tSample"


def test_an_unknown_keep_delimiter_target_is_refused_in_the_api() -> None:
    with pytest.raises(ManifestError, match="terra cannot be written semicolon-separated"):
        write_manifest([], io.StringIO(), "terra", delimiter=";")


# -- property: whatever a spreadsheet saves, convert --fix accounts for every row -------------

_HOSTILE_NAMES = st.one_of(
    st.none(),
    cells(12),
    st.sampled_from(
        [
            "a.tif",
            "C:\\Users\\x\\evil.tif",
            "../../etc/passwd",
            "CON.txt",
            "com\u00b9",
            "evil\u202egpj.exe",
            "ends.",
            "-dash.tif",
            "=HYPERLINK(1)",
            "a\r\nb",
            "caf\u0065\u0301",
            "x" * 300,
            "a;b,c\td",
        ]
    ),
)


def _quoted(cell: str, delimiter: str) -> str:
    if any(c in cell for c in (delimiter, '"', "\r", "\n")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def _spreadsheet(draw: st.DrawFn) -> tuple[str, int, int]:
    """A saved sheet: (text, data rows, blank rows)."""
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    line_end = draw(st.sampled_from(["\n", "\r\n"]))
    columns = draw(st.permutations(["drs_uri", "name", "note"]))
    extra = draw(st.lists(st.sampled_from(["", "", "keep"]), max_size=2))  # unnamed columns
    header = [*columns, *[""] * len(extra)]
    out = io.StringIO(newline="")

    def writerow(cells: list[str]) -> None:
        # As spreadsheets save: a cell holding the delimiter, a quote or any line break is
        # quoted (Python 3.11's csv writer leaves a lone CR bare when the line end is "\n").
        out.write(delimiter.join(_quoted(c, delimiter) for c in cells) + line_end)

    writerow(header)
    data = blank = 0
    for _ in range(draw(st.integers(0, 10))):
        if draw(st.booleans()) and draw(st.booleans()):
            out.write(draw(st.sampled_from(["", delimiter * len(header), " "])) + line_end)
            blank += 1
            continue
        values = {"drs_uri": draw(any_uri), "name": draw(_HOSTILE_NAMES) or "", "note": "n"}
        cells = [values[c] for c in columns]
        cells += [draw(st.sampled_from(["", "v"])) if e else "" for e in extra]
        if not "".join(cells).strip():
            blank += 1
        else:
            data += 1
        writerow(cells)
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return bom + out.getvalue(), data, blank


@settings(max_examples=300, deadline=None)
@given(_spreadsheet())
def test_convert_fix_of_any_saved_sheet_reads_back_safe_and_complete(
    sheet: tuple[str, int, int],
) -> None:
    text, data_rows, blank_rows = sheet
    repairer = Repairer()
    with ManifestReader(io.StringIO(text, newline="")) as reader:
        fixed = list(repairer.repair(reader))
        assert reader.context.blank_rows == blank_rows
    assert repairer.rows_in == data_rows
    assert len(fixed) + len(repairer.dropped) == data_rows
    assert all(r.name is not None and is_safe_file_name(r.name) for r in fixed)
    out = io.StringIO(newline="")
    write_manifest(fixed, out, "cgc")
    back = read_manifest(io.StringIO(out.getvalue(), newline=""))
    assert [(r.drs_uri, r.name, r.metadata) for r in back] == [
        (r.drs_uri, r.name, r.metadata) for r in fixed
    ]
    assert check_rows(back).ok


@pytest.mark.network
def test_import_takes_a_saved_sheet_as_it_is(tmp_path: Path, home: Path) -> None:
    """Issue 13.2: blank rows and a trailing ``;`` column made ``import`` exit 1 on a good file."""
    from tests.transfer.fault_server import FaultServer, payload

    with FaultServer() as server:
        data = {oid: payload(oid, 2000 + i) for i, oid in enumerate(("s1", "s2"))}
        for oid, blob in data.items():
            server.add(oid, blob)
        src = _write(
            tmp_path,
            "eu.csv",
            "name;drs_uri;\r\n;;\r\n"
            f"a.bin;{server.uri('s1')};\r\n;;\r\n;;\r\n"
            f"b.bin;{server.uri('s2')};\r\n;;\r\n",
        )
        dest = tmp_path / "dest"
        result = run_cli("import", str(src), "--to", str(dest), "--quiet", home=home)
    assert result.returncode == 0, result.stderr
    assert (dest / "a.bin").read_bytes() == data["s1"]
    assert (dest / "b.bin").read_bytes() == data["s2"]


@pytest.mark.parametrize(
    "header", ["name,drs_uri", "name,pfb:ga4gh_drs_uri", "NAME,DRS_URI", "File Name,drs_uri"]
)
def test_manifests_joined_with_cat_name_the_header_row_for_what_it_is(
    tmp_path: Path, header: str
) -> None:
    """``cat a.csv b.csv > all.csv``: b.csv's header (and its BOM) becomes a data row."""
    part = "\ufeff" + header + "\r\n"
    src = tmp_path / "all.csv"
    src.write_text(part + f"a.tif,{U1}\r\n" + part + f"b.tif,{U2}\r\n", encoding="utf-8")
    check = run_cli("manifest", "check", str(src), "--json")
    assert check.returncode == 1
    report = json.loads(check.stdout)
    (uri_finding,) = [f for f in report["findings"] if f["column"] == "drs_uri"]
    assert uri_finding["row"] == 2 and uri_finding["code"] == "uri_invalid"
    assert "header repeated as a row" in uri_finding["message"]
    out, fix_report = tmp_path / "fixed.csv", tmp_path / "report.json"
    fixed = run_cli(
        "manifest", "convert", str(src), "--to", "cgc", "-o", str(out), "--fix",
        "--report", str(fix_report),
    )  # fmt: skip
    assert fixed.returncode == 1, fixed.stderr  # a row was dropped (docs/manifests.md, Exit)
    assert [(r.name, r.drs_uri) for r in read_manifest(out)] == [("a.tif", U1), ("b.tif", U2)]
    (dropped,) = json.loads(fix_report.read_text())["dropped"]
    assert dropped["row"] == 2 and "header repeated" in dropped["message"]
