"""Reading every manifest format from hand-written fixtures, sniffing, and writing them back."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from htan_cds.errors import ManifestError, ManifestFormatError
from htan_cds.manifest import (
    ManifestReader,
    ManifestRow,
    ReadContext,
    format_names,
    read_manifest,
    sniff_format,
    write_manifest,
)

U1 = "drs://nci-crdc.datacommons.io/dg.4DFC/624649d2-7e68-11ee-8f1d-c3303a8d2065"
U2 = "drs://nci-crdc.datacommons.io/dg.4DFC/62467074-7e68-11ee-92d8-273c6ae268a6"
C1 = "dg.4DFC/624649d2-7e68-11ee-8f1d-c3303a8d2065"

# The CDS portal cart download: BOM, CRLF, all quoted, embedded quotes NOT doubled.
CDS_CART = (
    "\ufeff"
    '"drs_uri","name","Participant ID","Md5sum","Associated File","File Type",'
    '"File Size (in bytes)","User Comments"\r\n'
    f'"{U1}","CRC01b_07.ome.tif","HTA1_1","d41d8cd98f00b204e9800998ecf8427e","","the "big" one",'
    '"123","my "great" comment"\r\n'
    f'"{U2}","b, c.tif","HTA1_2","abc","","tif","456","says "hi", twice, "x","y""\r\n'
)


def _text(text: str, fmt: str = "auto") -> list[ManifestRow]:
    return read_manifest(io.StringIO(text, newline=""), fmt)


def test_cds_portal_cart_with_bom_crlf_and_raw_quotes(tmp_path: Path) -> None:
    path = tmp_path / "cart.csv"
    path.write_bytes(CDS_CART.encode("utf-8"))
    with ManifestReader(path) as reader:
        rows = list(reader)
        assert reader.format == "cds-portal"
    assert [r.drs_uri for r in rows] == [U1, U2]
    assert rows[0].name == "CRC01b_07.ome.tif"
    assert rows[0].metadata["File Type"] == 'the "big" one'
    assert rows[0].metadata["User Comments"] == 'my "great" comment'
    assert rows[0].metadata["File Size (in bytes)"] == "123"
    assert rows[1].name == "b, c.tif"
    assert rows[1].metadata["User Comments"] == 'says "hi", twice, "x","y"'
    assert [r.row_number for r in rows] == [1, 2]


def test_cds_portal_multiline_comment_and_doubled_quotes() -> None:
    text = (
        '"drs_uri","name","Participant ID","User Comments"\r\n'
        f'"{U1}","a.tif","P1","first line\r\nsecond ""quoted"" line"\r\n'
        f'"{U2}","b.tif","P2",""\r\n'
    )
    rows = _text(text)
    assert rows[0].metadata["User Comments"] == 'first line\r\nsecond "quoted" line'
    assert rows[1].metadata["User Comments"] == ""
    assert [r.row_number for r in rows] == [1, 2]


def test_cds_portal_old_five_column_form() -> None:
    text = (
        "Participant ID,File Name,File ID,Md5sum,User Comments\r\n"
        f"HTA1_1,CRC01b_07.ome.tif,{C1},abc,\r\n"
    )
    (row,) = _text(text)
    assert sniff_format(text.splitlines(True)) == "cds-portal"
    assert row.drs_uri == C1
    assert row.name == "CRC01b_07.ome.tif"
    assert row.metadata == {"Participant ID": "HTA1_1", "Md5sum": "abc", "User Comments": ""}


def test_cds_portal_unterminated_quote_is_a_warning_not_a_loss() -> None:
    text = f'"drs_uri","name","Participant ID"\n"{U1}","a.tif","P1\n'
    ctx = ReadContext()
    rows = read_manifest(io.StringIO(text), "cds-portal", context=ctx)
    assert len(rows) == 1 and rows[0].drs_uri == U1
    assert any(f.code == "unterminated_quote" for f in ctx.findings)


def test_htan_portal_full_form_unquoted_without_final_newline() -> None:
    header = (
        "drs_uri,name,atlas_name,biospecimen,assay_name,level,data_file_id,"
        "parent_biospecimen_id,parent_data_file_id"
    )
    text = f"{header}\n{U1},a.ome.tif,HTAN HMS,HTA1_1_1,CyCIF,Level 2,HTA1_1_2,HTA1_1_1,HTA1_1_3"
    lines = text.splitlines(True)
    assert sniff_format(lines) == "htan-portal"
    (row,) = _text(text)
    assert row.drs_uri == U1 and row.name == "a.ome.tif"
    assert row.metadata["data_file_id"] == "HTA1_1_2"
    assert row.metadata["parent_data_file_id"] == "HTA1_1_3"


def test_htan_portal_2024_two_column_form() -> None:
    text = f"drs_uri,name\n{U1},a.bam\n{U2},b.bam"
    assert sniff_format(text.splitlines(True)) == "htan-portal"
    rows = _text(text)
    assert [(r.drs_uri, r.name, r.metadata) for r in rows] == [
        (U1, "a.bam", {}),
        (U2, "b.bam", {}),
    ]


def test_cgc_tsv_with_metadata_and_blank_lines() -> None:
    text = f"name\tdrs_uri\tsample\n\na.tif\t{U1}\tS1\n\nb.tif\t{U2}\tS2\n"
    assert sniff_format(text.splitlines(True)) == "cgc"
    rows = _text(text)
    assert [(r.name, r.drs_uri, r.metadata, r.row_number) for r in rows] == [
        ("a.tif", U1, {"sample": "S1"}, 1),
        ("b.tif", U2, {"sample": "S2"}, 2),
    ]


def test_ragged_rows_are_kept_with_a_warning() -> None:
    text = f"drs_uri,name,x\n{U1},a\n{U2},b,1,extra\n"
    ctx = ReadContext()
    rows = read_manifest(io.StringIO(text), "cgc", context=ctx)
    assert rows[0].metadata == {"x": ""}
    assert rows[1].metadata == {"x": "1", "extra_1": "extra"}
    assert [f.row for f in ctx.findings if f.code == "row_shape"] == [1, 2]


def test_bigquery_export() -> None:
    text = (
        "name,entityId,HTAN_Data_File_ID,drs_uri,HTAN_Center\r\n"
        f"a.fastq.gz,syn1,HTA3_1_1,{C1},HTAN BU\r\n"
    )
    assert sniff_format(text.splitlines(True)) == "bigquery"
    (row,) = _text(text)
    assert row.drs_uri == C1 and row.name == "a.fastq.gz"
    assert row.metadata == {
        "entityId": "syn1",
        "HTAN_Data_File_ID": "HTA3_1_1",
        "HTAN_Center": "HTAN BU",
    }


def test_gen3_json() -> None:
    data = [
        {
            "object_id": "dg.4DFC/624649d2-7e68-11ee-8f1d-c3303a8d2065",
            "file_name": "a.tif",
            "file_size": 123,
            "md5sum": "abc",
            "commons_url": "nci-crdc.datacommons.io",
        },
        {"object_id": C1},
        {"object_id": U2, "file_name": "b.tif", "commons_url": "https://example.org/"},
        "not an object",
    ]
    text = json.dumps(data, indent=1)
    assert sniff_format(text.splitlines(True)) == "gen3"
    ctx = ReadContext()
    rows = read_manifest(io.StringIO(text), context=ctx)
    assert rows[0].drs_uri == U1
    assert rows[0].metadata == {"file_size": "123", "md5sum": "abc"}
    assert rows[1].drs_uri == C1 and rows[1].name is None
    assert rows[2].drs_uri == U2 and rows[2].metadata == {"commons_url": "https://example.org/"}
    assert rows[3].drs_uri == "" and [f.row for f in ctx.findings] == [4]


def test_gen3_invalid_json_is_a_manifest_error() -> None:
    with pytest.raises(ManifestFormatError):
        _text("[{", "gen3")


def test_sniff_refuses_unknown_and_empty() -> None:
    with pytest.raises(ManifestFormatError, match="cannot tell"):
        sniff_format(["a,b,c\n"])
    with pytest.raises(ManifestFormatError, match="empty"):
        sniff_format(["\n", "  \n"])


def test_unreadable_inputs_raise_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot open"):
        read_manifest(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(f"drs_uri,name\n{U1},caf\xe9.tif\n".encode("latin-1"))
    assert read_manifest(latin)[0].name == "caf\xe9.tif"  # read as Windows-1252 (encodings.py)
    undefined = tmp_path / "undefined.csv"
    undefined.write_bytes(f"drs_uri,name\n{U1},caf".encode() + b"\x81.tif\n")
    with pytest.raises(ManifestError, match="UTF-8"):
        read_manifest(undefined)
    with pytest.raises(ManifestFormatError, match="unknown manifest format"):
        read_manifest(tmp_path / "missing.csv", "xml")


def test_gzip_input(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "m.csv.gz"
    path.write_bytes(gzip.compress(f"drs_uri,name\n{U1},a.tif\n".encode()))
    assert read_manifest(path)[0].drs_uri == U1


def test_writers_produce_each_format_shape(tmp_path: Path) -> None:
    rows = [
        ManifestRow(U1, 'a "q".tif', {"Participant ID": "P1", "note": "x,y"}, 1),
        ManifestRow(C1, None, {"Participant ID": "P2", "note": ""}, 2),
    ]
    out = tmp_path / "cart.csv"
    assert write_manifest(rows, out, "cds-portal") == 2
    raw = out.read_bytes()
    assert (
        raw.startswith(b"\xef\xbb\xbf")
        and b"\r\n" in raw
        and b"\n" not in raw.replace(b"\r\n", b"")
    )
    assert read_manifest(out)[0].name == 'a "q".tif'
    assert write_manifest(rows, tmp_path / "h.csv", "htan-portal") == 2
    header = (tmp_path / "h.csv").read_text().splitlines()[0]
    assert header.startswith("drs_uri,name,atlas_name,biospecimen,assay_name,level,data_file_id")
    assert write_manifest(rows, tmp_path / "g.json", "gen3") == 2
    data = json.loads((tmp_path / "g.json").read_text())
    assert data[0]["object_id"] == "dg.4DFC/624649d2-7e68-11ee-8f1d-c3303a8d2065"
    assert data[0]["commons_url"] == "nci-crdc.datacommons.io"
    assert data[1]["object_id"] == C1 and "file_name" not in data[1]
    assert write_manifest(rows, tmp_path / "c.csv", "cgc") == 2
    # name first, as ISB-CGC writes CGC manifests: drs_uri first is the HTAN portal layout.
    assert (tmp_path / "c.csv").read_text().splitlines()[0] == "name,drs_uri,Participant ID,note"


def test_writer_refuses_to_drop_a_late_metadata_column() -> None:
    rows = [ManifestRow(U1, "a", {}, 1), ManifestRow(U2, "b", {"late": "1"}, 2)]
    with pytest.raises(ManifestError, match="late"):
        write_manifest(iter(rows), io.StringIO(), "cgc", columns=[])


def test_bigquery_is_read_only_and_names_are_listed() -> None:
    assert set(format_names()) == {
        "cgc",
        "cds-portal",
        "htan-portal",
        "gen3",
        "bigquery",
        "s5cmd",
        "terra",
        "table",
    }
    assert set(format_names(writable=True)) == {
        "cgc",
        "cds-portal",
        "htan-portal",
        "gen3",
        "s5cmd",
        "terra",
    }
    with pytest.raises(ManifestError, match="not written"):
        write_manifest([], io.StringIO(), "bigquery")


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    rows = [ManifestRow(U1, "a", {}, 1), ManifestRow(U2, "b", {"late": "1"}, 2)]
    dest = tmp_path / "out.csv"
    with pytest.raises(ManifestError):
        write_manifest(iter(rows), dest, "cgc", columns=[])
    assert list(tmp_path.iterdir()) == []


def test_gen3_fields_land_in_the_cart_columns_and_back() -> None:
    gen3 = '[{"object_id": "dg.4DFC/abc", "file_name": "y.tif", "file_size": 5, "md5sum": "ab"}]'
    rows = _text(gen3)
    cart = io.StringIO(newline="")
    write_manifest(rows, cart, "cds-portal")
    (row,) = _text(cart.getvalue())
    assert row.metadata["Md5sum"] == "ab" and row.metadata["File Size (in bytes)"] == "5"
    assert "md5sum" not in row.metadata
    back = io.StringIO()
    write_manifest([row], back, "gen3")
    (entry,) = json.loads(back.getvalue())
    assert entry["file_size"] == 5 and entry["md5sum"] == "ab"


def test_cgc_tsv_writer_reads_back() -> None:
    from htan_cds.manifest.formats import cgc

    rows = [ManifestRow(U1, "a b.tif", {"sample": "S\t1"}, 1)]
    out = io.StringIO(newline="")
    assert cgc.write_tsv(rows, out) == 1
    assert out.getvalue().splitlines()[0] == "name\tdrs_uri\tsample"
    assert _text(out.getvalue()) == rows
