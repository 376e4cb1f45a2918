"""Manifests from catalog queries: one row per HTAN Data File ID, full DRS URIs, portal columns."""

from __future__ import annotations

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
       array_to_string(biospecimen_ids, ',') AS biospecimen, assay, level,
       array_to_string(HTAN_Parent_Data_File_ID, ',') AS parent_data_file_id,
       size, md5
FROM ranked WHERE pick = 1
ORDER BY HTAN_Data_File_ID NULLS LAST, drs_id
"""

# The HTAN portal's manifest metadata columns, in its order.
PORTAL_COLUMNS = (
    "atlas_name",
    "biospecimen",
    "assay_name",
    "level",
    "data_file_id",
    "parent_biospecimen_id",
    "parent_data_file_id",
)


def manifest_frame(catalog: Catalog, flt: FileFilter) -> pd.DataFrame:
    """The files a manifest for ``flt`` lists, one per HTAN Data File ID (see DUPLICATE_RULE)."""
    where, params = where_clause(flt)
    with catalog.cursor() as cur:
        frame: pd.DataFrame = cur.execute(
            _RANKED.format(where=where), [catalog.authority, *params]
        ).df()
    return frame


def manifest_rows(frame: pd.DataFrame) -> list[Any]:
    """``ManifestRow`` objects with the portal's metadata columns."""
    from htan_cds.manifest import ManifestRow  # type: ignore[attr-defined,unused-ignore]

    def text(value: Any) -> str:
        return "" if value is None or value != value else str(value)

    rows = []
    columns = {
        name: frame[name].tolist()
        for name in (
            "drs_uri",
            "name",
            "atlas_name",
            "biospecimen",
            "assay",
            "level",
            "HTAN_Data_File_ID",
            "parent_data_file_id",
        )
    }
    for i in range(len(frame)):
        metadata = {
            "atlas_name": text(columns["atlas_name"][i]),
            "biospecimen": text(columns["biospecimen"][i]),
            "assay_name": text(columns["assay"][i]),
            "level": text(columns["level"][i]),
            "data_file_id": text(columns["HTAN_Data_File_ID"][i]),
            "parent_biospecimen_id": "",
            "parent_data_file_id": text(columns["parent_data_file_id"][i]),
        }
        rows.append(
            ManifestRow(
                drs_uri=str(columns["drs_uri"][i]),
                name=text(columns["name"][i]) or None,
                metadata=metadata,
                row_number=i + 1,
            )
        )
    return rows
