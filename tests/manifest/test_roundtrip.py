"""Round trips: a manifest written as format X reads back, by auto-detection, as X, same rows.

Every writable format, every delimiter it may be written with, formula escapes on and off,
hostile cell text (quotes, delimiters, line breaks, leading = + - @ and quotes).
"""

from __future__ import annotations

import io
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.drs.uri import DrsUriKind, parse_drs_uri
from htan_cds.errors import InvalidDrsUri
from htan_cds.manifest import ManifestReader, ManifestRow, format_names, get_format, write_manifest
from htan_cds.manifest.formats import cds_portal, htan_portal, terra
from tests.manifest.test_properties import manifests

_ESCAPED = re.compile(r"'+[=+\-@\t\r]")
_BLANK_FILLED = {
    "htan-portal": dict.fromkeys(htan_portal.COLUMNS[2:], ""),
    "cds-portal": dict.fromkeys([*cds_portal.LEAD_COLUMNS[2:], *cds_portal.TAIL_COLUMNS], ""),
}


def _gen3_uri(uri: str) -> str:
    try:
        parsed = parse_drs_uri(uri)
    except InvalidDrsUri:
        return uri
    return str(parsed) if parsed.kind is DrsUriKind.HOSTNAME else uri


def _blank(row: ManifestRow) -> bool:
    cells = [row.drs_uri, row.name or "", *row.metadata.values()]
    return not "".join(cells).strip()


def _expected(rows: list[ManifestRow], fmt: str) -> list[tuple[str, str | None, dict[str, str]]]:
    """What reading back must give: the rows, blank ones skipped, format columns filled."""
    out = []
    for row in rows:
        # Gen3 JSON keeps an empty object; Terra gives every row an entity id (row_N), so a
        # blank row is no longer blank there. Delimited formats skip all-empty rows on reading.
        if fmt not in ("gen3", "terra") and _blank(row):
            continue
        meta = {**_BLANK_FILLED.get(fmt, {}), **row.metadata}
        uri = _gen3_uri(row.drs_uri) if fmt == "gen3" else row.drs_uri
        out.append((uri, row.name or None, meta))
    return out


def _read_back(text: str) -> tuple[str, str | None, list[ManifestRow], int]:
    with ManifestReader(io.StringIO(text, newline="")) as reader:
        rows = list(reader)
        return reader.format, reader.context.delimiter, rows, reader.context.blank_rows


# s5cmd carries bucket URLs, not DRS URIs: its own round trip is below.
_DRS_FORMATS = [f for f in format_names(writable=True) if f != "s5cmd"]


@st.composite
def _format_and_delimiter(draw: st.DrawFn) -> tuple[str, str | None]:
    fmt = draw(st.sampled_from(_DRS_FORMATS))
    delimiters = get_format(fmt).delimiters
    return fmt, draw(st.sampled_from([None, *delimiters]))


@settings(max_examples=400, deadline=None)
@given(manifests(), _format_and_delimiter(), st.booleans())
def test_every_format_reads_back_as_itself(
    rows: list[ManifestRow], target: tuple[str, str | None], escape: bool
) -> None:
    fmt, delimiter = target
    buffer = io.StringIO(newline="")
    assert write_manifest(rows, buffer, fmt, delimiter=delimiter, escape_formulas=escape) == len(
        rows
    )
    sniffed, read_delimiter, back, blank_rows = _read_back(buffer.getvalue())
    assert sniffed == fmt
    if get_format(fmt).delimiters:
        assert read_delimiter == (delimiter or get_format(fmt).delimiters[0])
    got = [(r.drs_uri, r.name, dict(r.metadata)) for r in back]
    if fmt == "terra":
        ids = [meta.pop(terra.DEFAULT_ID_COLUMN) for _, _, meta in got]
        assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[A-Za-z0-9_.-]+", i) for i in ids)
    assert [r.row_number for r in back] == list(range(1, len(back) + 1))
    assert blank_rows == len(rows) - len(back)
    expected = _expected(rows, fmt)
    cells = [c for r in rows for c in (r.drs_uri, r.name or "", *r.metadata.values())]
    if escape or not any(_ESCAPED.match(c) for c in cells):
        # Unescaped output of a value that looks escaped ('=x) cannot come back as itself.
        assert got == expected


def test_a_value_starting_with_a_formula_character_is_escaped_and_comes_back() -> None:
    rows = [
        ManifestRow(
            "drs://nci-crdc.datacommons.io/dg.4DFC/a",
            "-starts-with-dash.tif",
            {"note": '=HYPERLINK("http://x")', "n": "@SUM(A1)", "q": "'=already", "t": "\tx"},
            1,
        )
    ]
    for fmt in ("cgc", "cds-portal", "htan-portal", "terra"):
        buffer = io.StringIO(newline="")
        write_manifest(rows, buffer, fmt)
        text = buffer.getvalue()
        # What a spreadsheet sees: no cell starts with a formula character.
        assert "'-starts-with-dash.tif" in text and "'=HYPERLINK" in text and "''=already" in text
        assert "'@SUM" in text
        back = _read_back(text)[2]
        assert back[0].name == "-starts-with-dash.tif"
        assert {k: back[0].metadata[k] for k in rows[0].metadata} == rows[0].metadata
    json_out = io.StringIO()
    write_manifest(rows, json_out, "gen3")
    # JSON keeps the real value: no spreadsheet opens it as cells.
    assert '"-starts-with-dash.tif"' in json_out.getvalue()
    assert '"=HYPERLINK(\\"http://x\\")"' in json_out.getvalue()


_bucket_rows = st.lists(
    st.builds(
        lambda uuid, command, dest: (f"s3://idc-open-data/{uuid}/*", command, dest),
        st.uuids().map(str),
        st.sampled_from(["cp", "sync"]),
        st.one_of(
            st.just("."),
            st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12),
        ),
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(_bucket_rows)
def test_s5cmd_reads_back_as_itself(specs: list[tuple[str, str, str]]) -> None:
    rows = [
        ManifestRow(uri, None, {"s5cmd_command": command, "destination": dest}, number)
        for number, (uri, command, dest) in enumerate(specs, start=1)
    ]
    buffer = io.StringIO(newline="")
    write_manifest(rows, buffer, "s5cmd")
    sniffed, _, back, _ = _read_back(buffer.getvalue())
    assert sniffed == "s5cmd"
    assert [(r.drs_uri, r.metadata) for r in back] == [(r.drs_uri, r.metadata) for r in rows]
