"""The one manifest writer for catalog selections: ``manifest create`` and the portal's downloads.

Both give the same manifest for the same selection and format: one row per HTAN Data File ID
(the catalog's pick, :data:`~htan_cds.catalog.manifests.DUPLICATE_RULE`), full DRS URIs, unique
safe names, and the same metadata columns, named as each format names them — the CDS portal's
``Participant ID``, ``Md5sum`` and ``File Size (in bytes)``, the HTAN portal's ``data_file_id``,
``biospecimen``, …, Gen3's ``md5sum`` and ``file_size``; CGC and Terra keep the HTAN attribute
names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from htan_cds.catalog.manifests import selection_table
from htan_cds.catalog.store import Catalog

# Catalog columns every manifest carries as metadata, in this order. Parent data file ids are
# left out: an open file's parent may be a controlled file, whose id an anonymous portal
# download must not reveal (docs/security.md, tests/security/test_controlled_metadata.py).
MANIFEST_FIELDS = (
    "HTAN_Data_File_ID",
    "HTAN_Participant_ID",
    "HTAN_Biospecimen_ID",
    "HTAN_Center",
    "atlas_name",
    "assay",
    "level",
    "File_Format",
    "Data_Release",
    "size",
    "md5",
    "sha256",
    "access",
    "consent_group",
    "drs_id",
)

# Each format's writer fills its own columns from metadata keys named as that format names them;
# renaming (not copying) keeps one column per value.
RENAMES: dict[str, dict[str, str]] = {
    "cds-portal": {
        "HTAN_Participant_ID": "Participant ID",
        "md5": "Md5sum",
        "size": "File Size (in bytes)",
    },
    "htan-portal": {
        "HTAN_Biospecimen_ID": "biospecimen",
        "assay": "assay_name",
        "HTAN_Data_File_ID": "data_file_id",
    },
    "gen3": {"size": "file_size", "md5": "md5sum"},
}
# JSON has no columns to keep aligned: an empty value is left out rather than written as "".
_SPARSE_FORMATS = frozenset({"gen3"})


def metadata_keys(fmt: str) -> list[str]:
    """The metadata keys a manifest in ``fmt`` carries, in order."""
    renames = RENAMES.get(fmt, {})
    return [renames.get(f, f) for f in MANIFEST_FIELDS]


def _text(values: list[Any]) -> list[str]:
    return ["" if v is None or v != v else str(v) for v in values]


def rows_from_columns(cols: Mapping[str, list[Any]], fmt: str) -> list[Any]:
    """``ManifestRow`` objects (numbered from 1) from column lists: drs_uri, name, fields."""
    from htan_cds.manifest.row import make_row

    keys = tuple(metadata_keys(fmt))
    count = len(cols["drs_uri"])
    texts = [_text(cols[f]) if f in cols else [""] * count for f in MANIFEST_FIELDS]
    sparse = fmt in _SPARSE_FORMATS
    rows = []
    # zip builds each row's metadata in C; this loop runs once per manifest row.
    for number, (uri, name, values) in enumerate(
        zip(cols["drs_uri"], cols["name"], zip(*texts, strict=True), strict=True), start=1
    ):
        meta = dict(zip(keys, values, strict=True))
        if sparse:
            meta = {k: v for k, v in meta.items() if v}
        rows.append(make_row(str(uri), name or None, meta, number))
    return rows


def rows_from_records(records: Iterable[Mapping[str, Any]], fmt: str) -> list[Any]:
    """The same rows from file records (dicts with catalog column names)."""
    listed = list(records)
    cols: dict[str, list[Any]] = {
        key: [r.get(key) for r in listed] for key in ("drs_uri", "name", *MANIFEST_FIELDS)
    }
    for key, source in (("HTAN_Biospecimen_ID", "biospecimen_ids"),):
        cols[key] = [
            ",".join(map(str, r[source])) if isinstance(r.get(source), list | tuple) else v
            for r, v in zip(listed, cols[key], strict=True)
        ]
    return rows_from_columns(cols, fmt)


@dataclass
class PreparedManifest:
    """Rows ready for ``write_manifest`` and the findings of making them so."""

    rows: list[Any]
    findings: list[Any]
    table: Any = None
    several: list[int] = field(default_factory=list)


def prepare_manifest(table: Any, fmt: str = "cgc") -> PreparedManifest:
    """Rows of a :func:`selection_table` with unique safe names and full URIs.

    The query flags canonical URIs and plain names (vectorised); names that are not plain or
    repeat go through the toolkit's ``safe_name``/``numbered_name``, and URIs that are not
    canonical send the manifest through ``repair_rows``.
    """
    from htan_cds.manifest import repair_rows
    from htan_cds.manifest.checks import make_finding
    from htan_cds.manifest.names import fallback_from_id, is_safe_name, numbered_name, safe_name

    names_in = ("drs_uri", "name", *MANIFEST_FIELDS)
    cols = {n: table.column(n).to_pylist() for n in names_in}
    several = [i for i, n in enumerate(table.column("n_uris").to_pylist()) if n > 1]
    if not all(table.column("canonical_uri").to_pylist()):
        repaired = repair_rows(rows_from_columns(cols, fmt))
        return PreparedManifest(list(repaired.rows), list(repaired.findings), table, several)
    findings: list[Any] = []
    plain: list[bool] = table.column("plain_name").to_pylist()
    names: list[str] = cols["name"]
    if not (all(plain) and len(set(names)) == len(names)):
        cols["name"] = names = list(names)
        # A plain name used twice is not plain: the second and later uses get numbered.
        seen: set[str] = set()
        for i, name in enumerate(names):
            if plain[i]:
                if name in seen:
                    plain[i] = False
                seen.add(name)
        used: set[str] = {n for n, ok in zip(names, plain, strict=True) if ok}
        next_number: dict[str, int] = {}
        for i, (name, uri, ok) in enumerate(zip(names, cols["drs_uri"], plain, strict=True)):
            if ok:
                continue
            fixed = name if name and is_safe_name(name) else safe_name(name, fallback_from_id(uri))
            if fixed != name:
                code = "name_missing" if not name else "name_unsafe"
                message = f"{name!r} renamed to {fixed!r}"
                findings.append(make_finding(i + 1, "name", code, message, name or uri))
            if fixed in used:
                wanted = fixed
                count = next_number.get(wanted, 2)
                while (candidate := numbered_name(wanted, count)) in used:
                    count += 1
                next_number[wanted] = count + 1
                message = f"{wanted!r} renamed to {candidate!r}"
                findings.append(make_finding(i + 1, "name", "name_duplicate", message, wanted))
                fixed = candidate
            used.add(fixed)
            names[i] = fixed
    return PreparedManifest(rows_from_columns(cols, fmt), findings, table, several)


def write_selection_manifest(
    catalog: Catalog,
    selection: tuple[str, list[Any]],
    fmt: str,
    dest: Path | str | IO[str],
    *,
    authority: str | None = None,
    escape_formulas: bool = True,
) -> tuple[int, PreparedManifest]:
    """Write the manifest of a selection in ``fmt``; return the row count and what was written.

    ``selection`` is ``(where, params)`` over table alias ``f`` (a filter's ``where_clause`` or
    a portal cart's ``where()``); ``authority`` names this commons in the URIs of files it
    serves (default: the catalog's).
    """
    from htan_cds.manifest import write_manifest

    prepared = prepare_manifest(selection_table(catalog, selection, authority), fmt)
    written = write_manifest(prepared.rows, dest, fmt, escape_formulas=escape_formulas)
    return int(written), prepared
