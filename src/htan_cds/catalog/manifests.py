"""Manifests from catalog queries: one row per HTAN Data File ID, full DRS URIs, portal columns."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from htan_cds.catalog.filters import FileFilter, where_clause
from htan_cds.catalog.store import Catalog

if TYPE_CHECKING:
    import pandas as pd

# When one HTAN Data File ID maps to several DRS objects (re-uploads across releases, as in
# ISB-CGC's gc_drs_map), keep the newest: highest Data Release number, then newest created time,
# then the smallest DRS id so the choice is deterministic.
DUPLICATE_RULE = "newest Data_Release, then newest created_time, then smallest drs_id"

_RANKED = """
WITH matching AS (
    SELECT coalesce(f.drs_uri, 'drs://' || ?::VARCHAR || '/' || f.drs_id) AS full_uri, f.*
    FROM files f WHERE {where}
), ranked AS (
    SELECT *,
        count(*) OVER (PARTITION BY coalesce(HTAN_Data_File_ID, drs_id)) AS n_uris,
        row_number() OVER (
            PARTITION BY coalesce(HTAN_Data_File_ID, drs_id)
            ORDER BY try_cast(regexp_extract(Data_Release, '([0-9]+(\\.[0-9]+)?)', 1) AS DOUBLE)
                     DESC NULLS LAST,
                     created_time DESC NULLS LAST,
                     drs_id
        ) AS pick
    FROM matching
)
SELECT full_uri AS drs_uri, name, drs_id, HTAN_Data_File_ID, n_uris, atlas_name,
       regexp_full_match(full_uri, '{uri_re}') AS canonical_uri,
       coalesce(regexp_full_match(name, '{plain_re}')
                AND NOT regexp_full_match(name, '{device_re}'), FALSE) AS plain_name,
       array_to_string(biospecimen_ids, ',') AS biospecimen, assay, level,
       array_to_string(HTAN_Parent_Data_File_ID, ',') AS parent_data_file_id,
       size, md5, source, collection_id, HTAN_Participant_ID, SeriesInstanceUID
FROM ranked WHERE pick = 1
ORDER BY HTAN_Data_File_ID NULLS LAST, drs_id
"""


def manifest_frame(catalog: Catalog, flt: FileFilter) -> pd.DataFrame:
    """The files a manifest for ``flt`` lists, one per HTAN Data File ID (see DUPLICATE_RULE)."""
    table = manifest_table(catalog, flt)
    frame: pd.DataFrame = table.to_pandas()
    return frame


def manifest_table(catalog: Catalog, flt: FileFilter) -> Any:
    """:func:`manifest_frame` as an Arrow table (no pandas conversion: faster for big ones)."""
    where, params = where_clause(catalog.resolve(flt).filter)
    with catalog.cursor() as cur:
        sql = _RANKED.format(
            where=where,
            uri_re=_CANONICAL_URI.pattern.replace("'", "''"),
            plain_re=_PLAIN_NAME,
            device_re=_DEVICE_NAME,
        )
        with warnings.catch_warnings():
            # DuckDB notes an extra copy for Arrow from a cursor; it is cheaper than pandas.
            warnings.simplefilter("ignore", UserWarning)
            return cur.execute(sql, [catalog.authority, *params]).to_arrow_table()


# Hostname DRS URIs as the catalog writes them (drs://host[:port]/id, id with at most one
# slash, unreserved characters): already canonical, so the toolkit's per-row URI repair
# (the slow part of repair_rows) is only needed when a row does not look like this.
_CANONICAL_URI = re.compile(
    r"^drs://(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?::[0-9]{1,5})?/[A-Za-z0-9._~-]+(?:/[A-Za-z0-9._~-]+)?$"
)


# Names that pass htan_cds.manifest.names.is_safe_file_name at a glance (ASCII, no trailing dot,
# not a Windows device name); the others are looked at by the toolkit one by one.
_PLAIN_NAME = "[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,199}[A-Za-z0-9_-])?"
_DEVICE_NAME = r"(?i)(?:CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(?:\..*)?"


@dataclass
class PreparedManifest:
    """Rows ready for ``write_manifest`` and the findings of making them so."""

    rows: list[Any]
    findings: list[Any]


def prepare_manifest(table: Any) -> PreparedManifest:
    """``ManifestRow`` objects with unique safe names and full URIs, via the manifest toolkit.

    Names go through the toolkit's ``is_safe_name``/``safe_name``/``numbered_name``; URIs that
    are not canonical hostname URIs send the whole manifest through ``repair_rows``.
    """
    from htan_cds.manifest import ManifestRow, repair_rows  # type: ignore[attr-defined,unused-ignore]
    from htan_cds.manifest.checks import make_finding
    from htan_cds.manifest.names import fallback_from_id, is_safe_name, numbered_name, safe_name

    cols = {name: table.column(name).to_pylist() for name in _ROW_COLUMNS}
    uris: list[str] = cols["drs_uri"]
    # The query flags canonical URIs and plain unique names (vectorised); only the rest are
    # looked at row by row here.
    if not all(table.column("canonical_uri").to_pylist()):
        repaired = repair_rows(_rows(ManifestRow, cols))
        return PreparedManifest(list(repaired.rows), list(repaired.findings))
    findings: list[Any] = []
    plain: list[bool] = table.column("plain_name").to_pylist()
    names: list[str] = cols["name"]
    if all(plain) and len(set(names)) == len(names):
        return PreparedManifest(_rows(ManifestRow, cols), findings)
    # A plain name used twice is not plain: the second and later uses get numbered.
    seen: set[str] = set()
    for i, name in enumerate(names):
        if plain[i]:
            if name in seen:
                plain[i] = False
            seen.add(name)
    used: set[str] = {n for n, ok in zip(names, plain, strict=True) if ok}
    next_number: dict[str, int] = {}
    names = list(names)
    for i, (name, uri, ok) in enumerate(zip(cols["name"], uris, plain, strict=True), start=1):
        if ok:
            continue
        fixed = name if name and is_safe_name(name) else safe_name(name, fallback_from_id(uri))
        if fixed != name:
            code = "name_missing" if not name else "name_unsafe"
            findings.append(make_finding(i, "name", code, f"{name!r} renamed to {fixed!r}"))
        if fixed in used:
            wanted = fixed
            count = next_number.get(wanted, 2)
            while (candidate := numbered_name(wanted, count)) in used:
                count += 1
            next_number[wanted] = count + 1
            findings.append(
                make_finding(i, "name", "name_duplicate", f"{wanted!r} renamed to {candidate!r}")
            )
            fixed = candidate
        used.add(fixed)
        names[i - 1] = fixed
    cols["name"] = names
    return PreparedManifest(_rows(ManifestRow, cols), findings)


_ROW_COLUMNS = (
    "drs_uri",
    "name",
    "atlas_name",
    "biospecimen",
    "assay",
    "level",
    "HTAN_Data_File_ID",
    "parent_data_file_id",
)


def _rows(row_type: Any, cols: dict[str, list[Any]]) -> list[Any]:
    def text(values: list[Any]) -> list[str]:
        return ["" if v is None else str(v) for v in values]

    meta_columns = list(
        zip(
            text(cols["atlas_name"]),
            text(cols["biospecimen"]),
            text(cols["assay"]),
            text(cols["level"]),
            text(cols["HTAN_Data_File_ID"]),
            text(cols["parent_data_file_id"]),
            strict=True,
        )
    )
    # Positional construction: this loop runs once per manifest row.
    return [
        row_type(
            uri,
            name or None,
            {
                "atlas_name": atlas,
                "biospecimen": bios,
                "assay_name": assay,
                "level": level,
                "data_file_id": file_id,
                "parent_biospecimen_id": "",
                "parent_data_file_id": parents,
            },
            i,
        )
        for i, (uri, name, (atlas, bios, assay, level, file_id, parents)) in enumerate(
            zip(cols["drs_uri"], cols["name"], meta_columns, strict=True), start=1
        )
    ]


def manifest_rows(frame: pd.DataFrame) -> list[Any]:
    """``ManifestRow`` objects with the portal's metadata columns (no repair)."""
    from htan_cds.manifest import ManifestRow  # type: ignore[attr-defined,unused-ignore]

    cols = {name: [None if v != v else v for v in frame[name].tolist()] for name in _ROW_COLUMNS}
    return _rows(ManifestRow, cols)
