"""Large synthetic catalogs (``htan-cds demo --scale N --metadata-only``) generated in SQL.

Rows come from DuckDB's ``range()`` with hash-derived columns, so a million files take seconds
and no Python loop. No bytes are written: sizes and checksums are synthetic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from htan_cds.catalog import demo_data as vocab
from htan_cds.catalog.store import LOCAL_ID_PREFIX, Catalog
from htan_cds.config import DataHome


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def build_scaled(home: DataHome, *, files: int, port: int = 8000, seed: int = 0) -> dict[str, Any]:
    """Replace the catalog in ``home`` with ``files`` synthetic file rows (metadata only)."""
    centers = [c.name for c in vocab.CENTERS]
    numbers = [str(c.number) for c in vocab.CENTERS]
    organs = sorted({o for c in vocab.CENTERS for o, _ in c.organs})
    diagnoses = sorted({d for c in vocab.CENTERS for _, d in c.organs})
    assays = sorted({a for c in vocab.CENTERS for a in (*c.imaging_assays, *c.sequencing_assays)})
    levels = ["Level 1", "Level 2", "Level 3", "Level 4", "Auxiliary"]
    formats = ["OME-TIFF", "csv", "parquet", "fastq", "vcf"]
    participants = max(40, files // 25)
    with Catalog.open(home) as catalog:
        catalog.clear()
        con = catalog.connection
        con.execute(
            f"""
            INSERT INTO files BY NAME
            WITH base AS (
                SELECT i, hash(i + {int(seed)}) AS h FROM range({int(files)}) t(i)
            ), shaped AS (
                SELECT i, h,
                    (h % {len(centers)})::INT + 1 AS c,
                    ((h >> 8) % {participants})::BIGINT + 1 AS p
                FROM base
            )
            SELECT
                '{LOCAL_ID_PREFIX}/' || uuid()::VARCHAR AS drs_id,
                'HTA' || {_sql_list(numbers)}[c] || '_' || p || '_' || (100000 + i) AS
                    HTAN_Data_File_ID,
                'syn' || (30000000 + i) AS entityId,
                'file_' || i || '.' || lower({_sql_list(formats)}[((h >> 16) % 5)::INT + 1])
                    AS name,
                ((h >> 20) % 500000000)::BIGINT + 1024 AS size,
                md5(i::VARCHAR) AS md5,
                sha256(i::VARCHAR) AS sha256,
                {_sql_list(levels)}[((h >> 24) % 5)::INT + 1] AS level,
                {_sql_list(assays)}[((h >> 28) % {len(assays)})::INT + 1] AS assay,
                {_sql_list(formats)}[((h >> 16) % 5)::INT + 1] AS File_Format,
                {_sql_list(centers)}[c] AS HTAN_Center,
                {_sql_list(centers)}[c] AS atlas_name,
                'HTA' || {_sql_list(numbers)}[c] || '_' || p AS HTAN_Participant_ID,
                ['HTA' || {_sql_list(numbers)}[c] || '_' || p || '_' || ((h >> 32) % 3 + 1)]
                    AS biospecimen_ids,
                {_sql_list(list(vocab.DEMO_RELEASES))}[((h >> 36) % 3)::INT + 1] AS Data_Release,
                {_sql_list(organs)}[((h >> 40) % {len(organs)})::INT + 1]
                    AS Tissue_or_Organ_of_Origin,
                {_sql_list(diagnoses)}[((h >> 44) % {len(diagnoses)})::INT + 1]
                    AS Primary_Diagnosis,
                CASE WHEN (h >> 48) % 5 = 0 THEN 'controlled' ELSE 'open' END AS access,
                CASE WHEN (h >> 48) % 5 = 0 THEN '{vocab.CONTROLLED_CONSENT_GROUP}' END
                    AS consent_group,
                TIMESTAMP '2024-01-01' + to_seconds((i % 31536000)::BIGINT) AS created_time
            FROM shaped
            """
        )
        con.execute(
            """
            INSERT INTO participants BY NAME
            SELECT DISTINCT HTAN_Participant_ID, HTAN_Center, atlas_name
            FROM files
            QUALIFY row_number() OVER (PARTITION BY HTAN_Participant_ID) = 1
            """
        )
        con.execute(
            """
            INSERT INTO file_biospecimens
            SELECT drs_id, unnest(biospecimen_ids) FROM files
            """
        )
        con.execute(
            """
            INSERT INTO biospecimens BY NAME
            SELECT DISTINCT fb.HTAN_Biospecimen_ID, any_value(f.HTAN_Participant_ID)
                AS HTAN_Participant_ID, any_value(f.HTAN_Center) AS HTAN_Center
            FROM file_biospecimens fb JOIN files f USING (drs_id)
            GROUP BY fb.HTAN_Biospecimen_ID
            """
        )
        catalog.set_meta("drs_authority", f"127.0.0.1:{port}")
        catalog.set_meta("source", f"synthetic scale={files} seed={seed} (metadata only)")
        catalog.set_meta("built_at", datetime.now(UTC).isoformat(timespec="seconds"))
        summary: dict[str, Any] = dict(catalog.summary())
    return summary
