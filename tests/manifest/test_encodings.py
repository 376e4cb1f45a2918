"""Manifests in the encodings spreadsheets save: UTF-8 (with and without BOM), Excel's "Unicode
Text" (UTF-16 LE with BOM, tab-separated), UTF-32, and the Windows-1252 of Excel's plain "CSV
(Comma delimited)" in Western locales; and Excel's ``sep=;`` first line. Inputs are written here.
"""

from __future__ import annotations

import codecs
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htan_cds.errors import ManifestError
from htan_cds.manifest import ManifestReader, read_manifest
from htan_cds.manifest.encodings import decode_bytes, sniff_encoding
from tests.conftest import run_cli

U1 = "drs://nci-crdc.datacommons.io/dg.4DFC/0a1b2c3d-0000-4000-8000-000000000001"
U2 = "drs://nci-crdc.datacommons.io/dg.4DFC/0a1b2c3d-0000-4000-8000-000000000002"


def _manifest(delimiter: str = ",", first: str = "r\u00e9sum\u00e9.tif") -> str:
    return f"name{delimiter}drs_uri\r\n{first}{delimiter}{U1}\r\nb.tif{delimiter}{U2}\r\n"


def _rows(path: Path | io.StringIO) -> list[tuple[str | None, str]]:
    return [(r.name, r.drs_uri) for r in read_manifest(path)]


@pytest.mark.parametrize(
    ("codec", "bom", "label"),
    [
        ("utf-8", b"", "UTF-8"),
        ("utf-8", codecs.BOM_UTF8, "UTF-8"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "UTF-16"),  # Excel "Unicode Text"
        ("utf-16-be", codecs.BOM_UTF16_BE, "UTF-16"),
        ("utf-32-le", codecs.BOM_UTF32_LE, "UTF-32"),
        ("utf-32-be", codecs.BOM_UTF32_BE, "UTF-32"),
    ],
)
@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_a_bom_decides_and_rows_read_the_same(
    tmp_path: Path, codec: str, bom: bytes, label: str, delimiter: str
) -> None:
    path = tmp_path / "m.txt"
    path.write_bytes(bom + _manifest(delimiter).encode(codec))
    assert _rows(path) == [("r\u00e9sum\u00e9.tif", U1), ("b.tif", U2)]
    with ManifestReader(path) as reader:
        list(reader)
        assert reader.context.encoding == label and reader.context.delimiter == delimiter
        assert reader.context.findings == []


def test_windows_1252_is_read_with_a_warning_that_names_it(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(_manifest(";", "caf\u00e9 \u20ac.tif").encode("cp1252"))
    assert _rows(path)[0] == ("caf\u00e9 \u20ac.tif", U1)  # the euro sign is 0x80 in 1252
    result = run_cli("manifest", "check", str(path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["encoding"] == "Windows-1252" and report["delimiter"] == ";"
    assert report["counts"] == {"encoding_guessed": 1} and report["rows"] == 2
    assert report["findings"][0]["value"] == "Windows-1252"
    out = tmp_path / "out.csv"
    converted = run_cli("manifest", "convert", str(path), "--fix", "--to", "cgc", "-o", str(out))
    assert converted.returncode == 0, converted.stderr
    assert "caf\u00e9 \u20ac.tif" in out.read_bytes().decode("utf-8")  # written back as UTF-8


def _small_sniff(monkeypatch: pytest.MonkeyPatch) -> None:
    from htan_cds.manifest import encodings, files

    for module in (encodings, files):
        monkeypatch.setattr(module, "SNIFF_BYTES", 64)
    monkeypatch.setattr(encodings, "_WINDOW", 16)
    monkeypatch.setattr(files, "_SCAN_CHUNK", 7)  # the first non-ASCII byte straddles reads


@pytest.mark.parametrize("gz", [False, True])
def test_a_long_ascii_head_is_decided_by_the_first_byte_that_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gz: bool
) -> None:
    """Excel's plain CSV whose first accented name comes after the sniffed head."""
    _small_sniff(monkeypatch)
    text = f"name,drs_uri\n{'a' * 80}.tif,{U1}\ncaf\u00e9 \u20ac.tif,{U2}\n"
    path = tmp_path / ("late.csv.gz" if gz else "late.csv")
    data = text.encode("cp1252")
    path.write_bytes(gzip.compress(data) if gz else data)
    reader = ManifestReader(path)
    rows = [(r.name, r.drs_uri) for r in reader]
    assert rows == [("a" * 80 + ".tif", U1), ("caf\u00e9 \u20ac.tif", U2)]
    assert reader.context.encoding == "Windows-1252"
    (finding,) = reader.context.findings
    assert finding.code == "encoding_guessed"
    assert f"ASCII up to byte {data.index(b'caf') + 3:,}" in finding.message
    reader.close()
    # Uploads and stdin decide the same way.
    assert decode_bytes(data, "upload") == (text, "Windows-1252")
    # UTF-8 after a long ASCII head stays UTF-8, without a warning.
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    reader = ManifestReader(path)
    assert [r.name for r in reader][1] == "caf\u00e9 \u20ac.tif"
    assert reader.context.encoding == "UTF-8" and not reader.context.findings
    reader.close()


def test_utf8_that_stops_being_utf8_is_refused_when_met(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UTF-8 characters first, a Windows-1252 byte later: mixed, no guess is safe."""
    _small_sniff(monkeypatch)
    path = tmp_path / "mixed.csv"
    head = f"name,drs_uri\n{'a' * 80}\u00e9.tif,{U1}\n".encode()
    path.write_bytes(head + f"{'b' * 80}caf\u00e9.tif,{U2}\n".encode("cp1252"))
    with pytest.raises(ManifestError, match="not UTF-8 text") as info:
        read_manifest(path)
    assert "CSV UTF-8" in str(info.value)  # the hint says how to save it again


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"GIF89a\x00\x00\x01", "not a text file"),
        (b"name,drs_uri\n\x81\x8d\x8f\x90\x9d", "not UTF-8 text"),  # undefined in 1252 too
    ],
)
def test_bytes_that_are_no_text_get_one_line(tmp_path: Path, data: bytes, needle: str) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(data)
    result = run_cli("manifest", "check", str(path))
    assert result.returncode == 2 and needle in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(ManifestError, match=needle):
        decode_bytes(data, "upload")


def test_stdin_and_gzip_are_sniffed_too(tmp_path: Path) -> None:
    data = codecs.BOM_UTF16_LE + _manifest("\t").encode("utf-16-le")
    packed = tmp_path / "m.tsv.gz"
    packed.write_bytes(gzip.compress(data))
    assert _rows(packed)[1] == ("b.tif", U2)
    fed = subprocess.run(
        [sys.executable, "-m", "htan_cds", "manifest", "check", "-", "--json"],
        input=data,
        capture_output=True,
        timeout=120,
    )
    assert fed.returncode == 0, fed.stderr
    assert json.loads(fed.stdout)["encoding"] == "UTF-16"


@pytest.mark.parametrize("hint", ["sep=;", "SEP=;", "sep=\t", "sep=,"])
def test_excels_sep_line_is_not_a_row(tmp_path: Path, hint: str) -> None:
    delimiter = hint[-1]
    text = f"{hint}\r\nname{delimiter}drs_uri\r\na.tif{delimiter}{U1}\r\n"
    text += f"b.tif{delimiter}not-a-uri\r\n"
    path = tmp_path / "sep.csv"
    path.write_text(text, newline="")
    result = run_cli("manifest", "check", str(path), "--json")
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["rows"] == 2 and report["delimiter"] == delimiter
    # Row numbers count data rows as without the hint line: the bad URI is on row 2.
    assert [(f["row"], f["code"]) for f in report["findings"]] == [(2, "uri_invalid")]
    assert _rows(io.StringIO(text, newline="")) == _rows(path)


_SAFE_TEXT = (
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=",;\t\"'=+-@\ufeff"),
        min_size=1,
        max_size=12,
    )
    .map(lambda s: s.strip() + ".tif")
    .filter(lambda s: s != ".tif")
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(_SAFE_TEXT, min_size=1, max_size=6),
    codec=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1252"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_any_encoding_reads_the_rows_it_was_written_with(
    tmp_path: Path, names: list[str], codec: str, delimiter: str
) -> None:
    if codec == "cp1252":
        try:
            "".join(names).encode("cp1252")
        except UnicodeEncodeError:
            codec = "utf-8"
    lines = [f"name{delimiter}drs_uri"]
    lines += [f"{n}{delimiter}drs://h.org/{i}" for i, n in enumerate(names)]
    path = tmp_path / "m.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(codec))
    assert sniff_encoding(path.read_bytes(), "m") in {"utf-8-sig", "utf-16", "utf-32", "cp1252"}
    assert [n for n, _ in _rows(path)] == names
