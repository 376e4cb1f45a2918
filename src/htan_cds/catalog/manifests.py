"""Manifests from catalog queries: one row per HTAN Data File ID, full DRS URIs, portal columns."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
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
SELECT full_uri AS drs_uri, name, n_uris,
       regexp_full_match(full_uri, '{uri_re}') AS canonical_uri,
       coalesce(regexp_full_match(name, '{plain_re}')
                AND NOT regexp_full_match(name, '{device_re}'), FALSE) AS plain_name,
       HTAN_Data_File_ID, HTAN_Participant_ID,
       array_to_string(biospecimen_ids, ',') AS HTAN_Biospecimen_ID,
       array_to_string(HTAN_Parent_Data_File_ID, ',') AS HTAN_Parent_Data_File_ID,
       HTAN_Center, atlas_name, assay, level, File_Format, Data_Release,
       size, md5, sha256, access, consent_group, drs_id,
       array_to_string(biospecimen_ids, ',') AS biospecimen,
       source, collection_id, SeriesInstanceUID
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
    return selection_table(catalog, where_clause(catalog.resolve(flt).filter))


def selection_table(
    catalog: Catalog, selection: tuple[str, list[Any]], authority: str | None = None
) -> Any:
    """The ranked files of a ``(where, params)`` selection over alias ``f``, as Arrow.

    One row per HTAN Data File ID (:data:`DUPLICATE_RULE`); files the catalog serves get
    ``drs://<authority>/<id>`` (default: the catalog's own authority).
    """
    where, params = selection
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
            values = [authority or catalog.authority, *params]
            return cur.execute(sql, values).to_arrow_table()


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


_PICKS = """
SELECT HTAN_Data_File_ID, full_uri FROM (
    SELECT f.HTAN_Data_File_ID,
        coalesce(f.drs_uri, 'drs://' || ?::VARCHAR || '/' || f.drs_id) AS full_uri,
        row_number() OVER (
            PARTITION BY f.HTAN_Data_File_ID
            ORDER BY try_cast(regexp_extract(Data_Release, '([0-9]+(\\.[0-9]+)?)', 1) AS DOUBLE)
                     DESC NULLS LAST,
                     created_time DESC NULLS LAST,
                     drs_id
        ) AS pick
    FROM files f WHERE f.HTAN_Data_File_ID IN (SELECT unnest(?::VARCHAR[]))
) WHERE pick = 1
"""


class CatalogUriPreference:
    """The catalog's pick among several DRS URIs of one HTAN file (``manifest convert --fix``).

    Implements :class:`htan_cds.manifest.repair.UriPreference`: for the file ids of a batch, one
    query returns the URI the catalog's own manifests keep (:data:`DUPLICATE_RULE`). File ids
    the catalog does not list are left out, so repair keeps the first URI listed for them.
    """

    rule = f"the catalog's pick ({DUPLICATE_RULE})"

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def picks(self, file_ids: Sequence[str]) -> dict[str, str]:
        """``{file id: full DRS URI}`` for the ids the catalog lists."""
        with self._catalog.cursor() as cur:
            rows = cur.execute(_PICKS, [self._catalog.authority, list(file_ids)]).fetchall()
        return {str(fid): str(uri) for fid, uri in rows}

    def close(self) -> None:
        """Close the catalog this preference reads."""
        self._catalog.close()
