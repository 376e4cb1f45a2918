"""The common last step of the table-based builders: query results into catalog tables.

Both the BigQuery and the files builder run the queries of :mod:`htan_cds.catalog.queries`
and hand their results here as DuckDB-scannable relations (Arrow tables or table names).
"""

from __future__ import annotations

from typing import Any

from htan_cds.catalog.queries import CONTROLLED_CONSENT_GROUP
from htan_cds.catalog.store import Catalog

# Channel attribute names in HTAN channel metadata CSVs -> catalog column.
_CHANNEL_ATTRIBUTES = {
    "Channel ID": "Channel_ID",
    "Channel Name": "Channel_Name",
    "Target Name": "Target",
    "Target": "Target",
    "Antibody Name": "Antibody_Name",
    "Antibody": "Antibody_Name",
    "Fluorophore": "Fluorophore",
    "Cycle Number": "Cycle_Number",
    "Cycle": "Cycle_Number",
}


def finish_build(catalog: Catalog, results: dict[str, str], source: str) -> dict[str, int]:
    """Replace the catalog's rows with the query results named in ``results`` (role -> table).

    ``results`` maps ``files``, ``imaging``, ``participants``, ``biospecimens``, ``channels`` to
    tables or views visible on the catalog connection.
    """
    con: Any = catalog.connection
    con.execute("BEGIN TRANSACTION")
    try:
        catalog.clear()
        con.execute(
            f"""
            INSERT INTO files BY NAME
            SELECT r.* EXCLUDE (biospecimen_csv, parents_csv, HTAN_Participant_ID, name),
              coalesce(r.HTAN_Participant_ID,
                       nullif(regexp_extract(r.HTAN_Data_File_ID, '^(HTA[0-9]+_[0-9]+)_', 1), ''))
                AS HTAN_Participant_ID,
              CASE WHEN r.biospecimen_csv IS NULL THEN NULL ELSE
                list_filter(list_transform(string_split(r.biospecimen_csv, ','), lambda x: trim(x)),
                            lambda x: x != '') END AS biospecimen_ids,
              CASE WHEN r.parents_csv IS NULL THEN NULL ELSE
                list_filter(list_transform(string_split(r.parents_csv, ','), lambda x: trim(x)),
                            lambda x: x != '') END AS HTAN_Parent_Data_File_ID,
              coalesce(r.name, regexp_extract(r.Filename, '[^/]+$'), r.drs_id) AS name,
              CASE WHEN r.access = 'controlled' THEN '{CONTROLLED_CONSENT_GROUP}' END
                AS consent_group
            FROM {results["files"]} r
            QUALIFY row_number() OVER (PARTITION BY r.drs_id ORDER BY r.HTAN_Data_File_ID) = 1
            """
        )
        con.execute(
            f"INSERT INTO participants BY NAME SELECT * EXCLUDE (Age_at_Diagnosis_days), "
            f"CAST(floor(Age_at_Diagnosis_days / 365.25) AS INTEGER) AS Age_at_Diagnosis_years "
            f"FROM {results['participants']}"
        )
        # Participants seen only in files still get a row (center from their files).
        con.execute(
            """
            INSERT INTO participants (HTAN_Participant_ID, HTAN_Center, atlas_name)
            SELECT HTAN_Participant_ID, any_value(HTAN_Center), any_value(atlas_name) FROM files
            WHERE HTAN_Participant_ID IS NOT NULL
              AND HTAN_Participant_ID NOT IN (SELECT HTAN_Participant_ID FROM participants)
            GROUP BY HTAN_Participant_ID
            """
        )
        con.execute(
            """
            UPDATE participants p SET HTAN_Center = f.c, atlas_name = f.c
            FROM (SELECT HTAN_Participant_ID, any_value(HTAN_Center) AS c FROM files
                  GROUP BY ALL) f
            WHERE p.HTAN_Participant_ID = f.HTAN_Participant_ID AND p.HTAN_Center IS NULL
            """
        )
        # Organ and diagnosis are denormalised onto files so facet counts need no join.
        con.execute(
            """
            UPDATE files f SET Tissue_or_Organ_of_Origin = p.Tissue_or_Organ_of_Origin,
                               Primary_Diagnosis = p.Primary_Diagnosis
            FROM participants p WHERE p.HTAN_Participant_ID = f.HTAN_Participant_ID
            """
        )
        con.execute(
            f"INSERT INTO biospecimens BY NAME SELECT * FROM {results['biospecimens']} "
            "WHERE HTAN_Biospecimen_ID IS NOT NULL"
        )
        con.execute(
            """
            INSERT INTO file_biospecimens
            SELECT drs_id, unnest(biospecimen_ids) FROM files WHERE biospecimen_ids IS NOT NULL
            """
        )
        con.execute(
            f"""
            INSERT INTO imaging BY NAME
            SELECT f.drs_id, i.* EXCLUDE (entityId) FROM {results["imaging"]} i
            JOIN files f ON f.entityId = i.entityId
            """
        )
        _insert_channels(con, results["channels"])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    catalog.refresh_derived()
    catalog.set_meta("source", source)
    counts = catalog.table_counts()
    return {k: counts[k] for k in ("files", "imaging", "channels", "participants", "biospecimens")}


def _insert_channels(con: Any, table: str) -> None:
    """Long (file, line, attribute, value) rows -> one catalog row per image channel."""
    cases = ", ".join(
        f"max(CASE WHEN attributeName = '{name}' THEN attributeValue END) AS \"{name}\""
        for name in _CHANNEL_ATTRIBUTES
    )
    pick: dict[str, list[str]] = {}
    for name, column in _CHANNEL_ATTRIBUTES.items():
        pick.setdefault(column, []).append(f'w."{name}"')
    columns = ", ".join(f"coalesce({', '.join(v)}) AS {k}" for k, v in pick.items())
    con.execute(
        f"""
        INSERT INTO channels BY NAME
        WITH wide AS (
            SELECT Channel_Metadata_Filename, lineNum, {cases} FROM {table} GROUP BY ALL
        ), named AS (
            SELECT w.Channel_Metadata_Filename,
                   CAST(row_number() OVER (PARTITION BY w.Channel_Metadata_Filename
                        ORDER BY TRY_CAST(w.lineNum AS INTEGER)) - 1 AS INTEGER) AS channel_index,
                   {columns}
            FROM wide w
        )
        SELECT f.drs_id, n.channel_index, n.Channel_ID, n.Channel_Name, n.Target,
               n.Antibody_Name, n.Fluorophore, TRY_CAST(n.Cycle_Number AS INTEGER) AS Cycle_Number
        FROM named n
        JOIN files f ON f.Channel_Metadata_Filename = n.Channel_Metadata_Filename
        QUALIFY row_number() OVER (PARTITION BY f.drs_id, n.channel_index) = 1
        """
    )
