"""The Arrow path of ``manifest check`` gives exactly what the ``csv``-module path gives.

A manifest on disk is parsed by Arrow (``formats/_arrow.py``) and checked with byte scans and NumPy
over the arrays' buffers (``bulk_arrow.py``, ``arrow_buffers.py``); a stream goes through the
``csv`` module and Python's ``hash``. The same text through both must give the same report, finding
for finding, whatever the text holds: blank rows and empty lines, rows of the wrong width, quotes
(also malformed), line breaks inside quotes, formula escapes, BOM and CRLF/CR line ends, non-ASCII,
repeated values. Tiny Arrow blocks make every file span many batches, so blocks that straddle rows
and Arrow giving up halfway (the ``csv`` reader then goes on from the same record) are exercised.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from htan_cds.errors import ManifestError
from htan_cds.manifest import ManifestReader, arrow_buffers
from htan_cds.manifest.arrow_buffers import list_hashes, offsets, string_hashes, texts_at
from htan_cds.manifest.bulk_arrow import (
    arrow_all_compact,
    arrow_all_full,
    arrow_all_plain_names,
    arrow_with_base,
)
from htan_cds.manifest.checks import FILE_ID_COLUMNS, check_reader
from htan_cds.manifest.formats import _arrow
from htan_cds.manifest.names import all_plain_names
from htan_cds.manifest.registry import ArrowColumnBatch
from htan_cds.manifest.uris import UriClassifier
from tests.manifest.strategies import CHARS, cells, drs_uris, uuids

_cell = cells(12)
_uri = drs_uris(
    uuids.map(lambda u: f"drs://127.0.0.1:8123/{u}"),
    st.sampled_from(
        [
            "drs://nci-crdc.datacommons.io/dg.4DFC//x",
            "drs://nci-crdc.datacommons.io/dg.4DFC/.x",
            "drs://nci-crdc.datacommons.io/dg.4DFC/x/",
            "drs://nci-crdc.datacommons.io/",
            "drs://nci-crdc.datacommons.io/dg.4DFC/a\nb",
            "drs://nci-crdc.datacommons.io/x drs://nci-crdc.datacommons.io/y",
            "dg.4DFC/",
            "dg.4DFC/a/b",
            "dg.4DFC/dg.4DFC/x",
            "'=cmd",
            "=HYPERLINK(1)",
            " drs://nci-crdc.datacommons.io/dg.4DFC/x",
            "\u00a0",
            "s3://bucket/key",
            "",
        ]
    ),
    _cell,
)
_name = st.one_of(
    st.from_regex(r"[A-Za-z0-9_]{1,8}\.(tif|ome\.tiff|svs)", fullmatch=True),
    st.sampled_from(
        ["", "CON.tif", "com1", "a.", "a ", "x/y.tif", "C:\\x.tif", "'-1.tif", "é.tif"]
    ),
    _cell,
)


@st.composite
def _manifest_text(draw: st.DrawFn) -> str:
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    columns = draw(st.permutations(["drs_uri", "name", "HTAN_Data_File_ID", "note"]).map(list))
    if draw(st.booleans()):
        columns.append("")  # a trailing delimiter on every line (a spreadsheet's leftover)
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=end)
    writer.writerow(columns)
    pool = draw(st.lists(_uri, min_size=1, max_size=4))
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(["row"] * 8 + ["blank", "empty", "ragged", "raw"]))
        if kind == "empty":
            out.write(end)
            continue
        if kind == "raw":  # malformed quoting the csv module still reads (strict=False)
            out.write(draw(st.sampled_from(['"a"b', 'x"y"', '"open', '"x" ,y'])) + end)
            continue
        cells = {
            "drs_uri": draw(st.one_of(st.sampled_from(pool), _uri)),
            "name": draw(_name),
            "HTAN_Data_File_ID": draw(st.sampled_from(["HTA1_1", "HTA1_2", "", "'=x"])),
            "note": draw(_cell),
            "": draw(st.sampled_from(["", "", "v"])),
        }
        row = ["" if kind == "blank" else cells[c] for c in columns]
        if kind == "ragged":
            row = row[:-1] if draw(st.booleans()) else [*row, draw(_cell)]
        writer.writerow(row)
    text = out.getvalue()
    return ("\ufeff" + text) if draw(st.booleans()) else text


def _check(source: Any) -> tuple[dict[str, Any], list[int], set[str]]:
    """What ``manifest check --json`` reports, and which kinds of batches were seen.

    As the command does (``check_reader``): a file is read a second time when a hash repeats,
    and repeats are then told by text; a stream is checked in one pass with the sieve.
    """
    kinds: set[str] = set()
    with ManifestReader(source) as reader:
        seen = reader.iter_columns

        def iter_columns(key_columns: Any) -> Any:
            for batch in seen(key_columns):
                kinds.add(type(batch).__name__)
                yield batch

        reader.iter_columns = iter_columns  # type: ignore[method-assign]
        report = check_reader(reader)
        found = reader.context
    return report.to_dict(), list(found.dropped_columns), kinds


def _both(text: str, path: Path) -> tuple[Any, Any]:
    path.write_bytes(text.encode("utf-8"))
    results = []
    # The stream is what the file decodes to (utf-8-sig drops the BOM, newline="" keeps ends).
    for source in (io.StringIO(text.removeprefix("\ufeff"), newline=""), path):
        try:
            results.append(_check(source)[:2])
        except ManifestError as exc:
            label = exc.message.replace(str(path), "<stream>")  # the file is named, a stream not
            results.append(("error", type(exc).__name__, label))
    return results[0], results[1]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_manifest_text(), chunk=st.sampled_from([16, 64, 200, 1 << 20]))
def test_arrow_path_reports_what_the_csv_path_reports(
    text: str, chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks: records (and quoted line breaks) straddle chunk ends all the time.
    monkeypatch.setattr(_arrow, "_CHUNK_BYTES", chunk)
    by_csv, by_arrow = _both(text, tmp_path / "m.csv")
    assert by_arrow == by_csv


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_manifest_text())
def test_repeats_are_told_by_text_even_when_hashes_collide(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hash that collides all the time (only the length counts): every equal hash is just a
    # candidate, and the second reading keeps only the repeats whose texts are equal.
    def weak(lengths: Any) -> Any:
        return np.where(lengths > 0, lengths % 3 + 1, 0).astype(np.int64)

    monkeypatch.setattr(arrow_buffers, "string_hashes", lambda a: weak(np.diff(offsets(a))))
    monkeypatch.setattr(
        arrow_buffers,
        "list_hashes",
        lambda values: weak(np.array([len(v.encode()) for v in values], dtype=np.int64)),
    )
    monkeypatch.setattr(_arrow, "_CHUNK_BYTES", 64)
    by_csv, by_arrow = _both(text, tmp_path / "m.csv")
    assert by_arrow == by_csv


def _clean_file(path: Path, rows: int, *, compact: bool = False) -> str:
    head = "dg.4DFC/" if compact else "drs://nci-crdc.datacommons.io/dg.4DFC/"
    lines = ["drs_uri,name,HTAN_Data_File_ID"]
    lines += [
        f"{head}{i:08d}-0000-4000-8000-000000000000,f{i}.tif,HTA1_{i % 50}" for i in range(rows)
    ]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def test_a_clean_file_is_checked_as_arrow_batches(tmp_path: Path) -> None:
    path = tmp_path / "clean.csv"
    text = _clean_file(path, 3000)
    report, _, kinds = _check(path)
    assert kinds == {"ArrowColumnBatch"}
    assert report == _check(io.StringIO(text, newline=""))[0]
    # 3000 rows over 50 file ids: every row's id repeats, each id named by value.
    assert report["stats"]["file_ids_with_several_uris"] == 50
    assert {f["value"] for f in report["findings"] if f["code"] == "file_id_multiple_uris"} == {
        f"HTA1_{i}" for i in range(50)
    }


@pytest.mark.parametrize("compact", [False, True])
def test_repeats_across_batches_are_found_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compact: bool
) -> None:
    monkeypatch.setattr(_arrow, "_CHUNK_BYTES", 4096)
    path = tmp_path / "dups.csv"
    text = _clean_file(path, 2000, compact=compact)
    first = text.splitlines()[1]
    # The first row again at the end (another block): a duplicate URI and a shared name.
    path.write_text(text + first + "\n")
    report, _, kinds = _check(path)
    assert kinds == {"ArrowColumnBatch"}
    assert report == _check(io.StringIO(path.read_text(), newline=""))[0]
    assert report["stats"]["duplicate_uris"] == 1


def test_a_ragged_row_midway_hands_over_to_the_csv_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_arrow, "_CHUNK_BYTES", 4096)
    path = tmp_path / "ragged.csv"
    lines = _clean_file(path, 3000).splitlines()
    lines[2500] += ",extra"
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    report, _, kinds = _check(path)
    assert kinds == {"ArrowColumnBatch", "ColumnBatch"}
    assert report == _check(io.StringIO(text, newline=""))[0]
    shape = [f for f in report["findings"] if f["code"] == "row_shape"]
    assert [f["row"] for f in shape] == [2500]


def test_a_field_over_the_csv_limit_is_refused_as_before(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    huge = "x" * (csv.field_size_limit() + 1)
    text = f"drs_uri,name\ndrs://nci-crdc.datacommons.io/dg.4DFC/a,{huge}\n"
    by_csv, by_arrow = _both(text, path)
    assert by_csv[0] == "error" and by_arrow == by_csv


def test_gzip_and_not_utf8(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    from htan_cds.manifest import files

    # Not UTF-8 only after the bytes the encoding is sniffed from: refused when met.
    monkeypatch.setattr(files, "SNIFF_BYTES", 1024)

    text = _clean_file(tmp_path / "plain.csv", 500)
    packed = tmp_path / "m.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    report, _, kinds = _check(packed)
    assert kinds == {"ArrowColumnBatch"} and report["rows"] == 500
    latin = tmp_path / "latin.csv"
    latin.write_bytes(text.encode() + "drs://h.org/x,caf\xe9.tif,\n".encode("latin-1"))
    with pytest.raises(ManifestError, match="not UTF-8"):
        _check(latin)


def test_arrow_reads_one_chunk_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_arrow, "_CHUNK_BYTES", 8192)
    path = tmp_path / "long.csv"
    _clean_file(path, 20_000)  # ~1.3 MiB: ~160 chunks
    reads: list[tuple[int, int]] = []
    records = 0
    with ManifestReader(path) as reader:
        for batch in reader.iter_columns(FILE_ID_COLUMNS):
            assert isinstance(batch, ArrowColumnBatch)
            records += len(batch)
            reads.append((records, reader.bytes_read() or 0))
    assert records == 20_000 and len(reads) > 100
    # The file is read as the batches go, never far ahead of them (bounded memory).
    row_bytes = path.stat().st_size / 20_000
    assert all(done - count * row_bytes < 3 * 8192 for count, done in reads)


def test_quoted_line_breaks_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_arrow, "_CHUNK_BYTES", 256)
    path = tmp_path / "quoted.csv"
    rows = [
        f'drs://nci-crdc.datacommons.io/dg.4DFC/{i:04d},"a\nb ""{i}"".tif",HTA1_{i}'
        for i in range(300)
    ]
    text = "drs_uri,name,HTAN_Data_File_ID\n" + "\n".join(rows) + "\n"
    path.write_text(text)
    report, _, kinds = _check(path)
    assert "ArrowColumnBatch" in kinds
    assert report == _check(io.StringIO(text, newline=""))[0]
    assert report["rows"] == 300 and report["counts"].get("name_unsafe") == 300


_uri_lists = st.lists(_uri, min_size=1, max_size=6)


@settings(max_examples=300)
@given(uris=st.one_of(_uri_lists, st.lists(_uri.filter(lambda u: u.startswith("dg.")), min_size=1)))
def test_arrow_uri_twins_agree(uris: list[str]) -> None:
    classifier = UriClassifier()
    array = pa.array(uris, pa.string())
    assert arrow_all_full(array, classifier) == classifier.all_full(uris)
    compact = arrow_all_compact(array, classifier)
    assert compact == classifier.all_compact(uris)
    if compact is not None:
        head, base = compact
        fulls = arrow_with_base(array, len(head), base).to_pylist()
        assert fulls == [base + uri[len(head) :] for uri in uris]


@settings(max_examples=300)
@given(names=st.lists(_name, min_size=1, max_size=6))
def test_arrow_name_twin_agrees(names: list[str]) -> None:
    assert arrow_all_plain_names(pa.array(names, pa.string())) == all_plain_names(names)


_texts = st.lists(st.one_of(_cell, _uri, st.text(CHARS, min_size=7, max_size=40)), max_size=30)


@settings(max_examples=300)
@given(texts=_texts, skip=st.integers(0, 3), data=st.data())
def test_hashes_are_one_function_of_the_text(texts: list[str], skip: int, data: Any) -> None:
    # The same text hashes alike in any array (sliced, other lengths beside it) and as a list
    # value; "" is 0 (no value) and nothing else is.
    array = pa.array(["pad"] * skip + texts, pa.string()).slice(skip)
    hashes = string_hashes(array).tolist()
    assert hashes == list_hashes(texts).tolist()
    for text, value in zip(texts, hashes, strict=True):
        assert (value == 0) == (text == "")
        assert value == string_hashes(pa.array([text], pa.string()))[0]
        assert value == string_hashes(pa.array([text] * 3, pa.string()))[1]
    if texts:
        indexes = data.draw(st.lists(st.integers(0, len(texts) - 1), max_size=5))
        assert texts_at(array, indexes) == [texts[i] for i in indexes]


def test_hashes_of_many_similar_and_long_texts_differ() -> None:
    texts = [f"HTA9_{i}_{i % 97}.ome.tif" for i in range(200_000)]
    texts += ["x" * n for n in range(1, 300)] + ["y" * 200_000, "y" * 200_001]
    hashes = string_hashes(pa.array(texts, pa.string()))
    assert len(set(hashes.tolist())) == len(texts)
