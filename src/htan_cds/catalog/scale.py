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
    """Replace the catalog in ``home`` with ``files`` synthetic file rows (metadata only).

    Values are correlated the way HTAN's are: a center has its own assays, a participant one
    organ and diagnosis, a level its formats; Level 1 sequencing files are controlled.
    """
    centers = [c.name for c in vocab.CENTERS]
    numbers = [str(c.number) for c in vocab.CENTERS]
    assays = [[*c.imaging_assays, *c.sequencing_assays] for c in vocab.CENTERS]
    sequencing = sorted({a for c in vocab.CENTERS for a in c.sequencing_assays})
    organs = [[o for o, _ in c.organs] for c in vocab.CENTERS]
    diagnoses = [[d for _, d in c.organs] for c in vocab.CENTERS]
    levels = ["Level 1", "Level 2", "Level 3", "Level 4", "Auxiliary"]
    # Per level: the formats files of that level come in (imaging, sequencing).
    image_formats = [["OME-TIFF"], ["OME-TIFF"], ["OME-TIFF"], ["csv", "parquet"], ["csv"]]
    seq_formats = [["fastq"], ["bam"], ["csv"], ["csv"], ["csv"]]
    participants = max(40, files // 25)

    def lists(values: list[list[str]]) -> str:
        return "[" + ", ".join(_sql_list(v) for v in values) + "]"

    seq_f, img_f = lists(seq_formats), lists(image_formats)
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
                    ((h >> 8) % {participants})::BIGINT + 1 AS p,
                    ((h >> 24) % 5)::INT + 1 AS lv
                FROM base
            ), valued AS (
                SELECT *,
                    {lists(assays)}[c][((h >> 28) % len({lists(assays)}[c]))::INT + 1] AS assay,
                    ((hash(p) % len({lists(organs)}[c]))::INT + 1) AS o
                FROM shaped
            ), typed AS (
                SELECT *,
                    list_contains({_sql_list(sequencing)}, assay) AS seq,
                    CASE WHEN list_contains({_sql_list(sequencing)}, assay)
                         THEN {seq_f}[lv][((h >> 16) % len({seq_f}[lv]))::INT + 1]
                         ELSE {img_f}[lv][((h >> 16) % len({img_f}[lv]))::INT + 1]
                    END AS fmt
                FROM valued
            )
            SELECT
                '{LOCAL_ID_PREFIX}/' || uuid()::VARCHAR AS drs_id,
                'HTA' || {_sql_list(numbers)}[c] || '_' || p || '_' || (100000 + i)
                    AS HTAN_Data_File_ID,
                'syn' || (30000000 + i) AS entityId,
                'file_' || i || '.' || lower(fmt) AS name,
                ((h >> 20) % 500000000)::BIGINT + 1024 AS size,
                md5(i::VARCHAR) AS md5,
                sha256(i::VARCHAR) AS sha256,
                {_sql_list(levels)}[lv] AS level,
                assay,
                fmt AS File_Format,
                {_sql_list(centers)}[c] AS HTAN_Center,
                {_sql_list(centers)}[c] AS atlas_name,
                'HTA' || {_sql_list(numbers)}[c] || '_' || p AS HTAN_Participant_ID,
                ['HTA' || {_sql_list(numbers)}[c] || '_' || p || '_' || ((h >> 32) % 3 + 1)]
                    AS biospecimen_ids,
                {_sql_list(list(vocab.DEMO_RELEASES))}[((h >> 36) % 3)::INT + 1] AS Data_Release,
                {lists(organs)}[c][o] AS Tissue_or_Organ_of_Origin,
                {lists(diagnoses)}[c][o] AS Primary_Diagnosis,
                CASE WHEN seq AND lv <= 2 THEN 'controlled' ELSE 'open' END AS access,
                CASE WHEN seq AND lv <= 2 THEN '{vocab.CONTROLLED_CONSENT_GROUP}' END
                    AS consent_group,
                TIMESTAMP '2024-01-01' + to_seconds((i % 31536000)::BIGINT) AS created_time
            FROM typed
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
        catalog.refresh_derived()
        catalog.set_meta("drs_authority", f"127.0.0.1:{port}")
        catalog.set_meta("source", f"synthetic scale={files} seed={seed} (metadata only)")
        catalog.set_meta("built_at", datetime.now(UTC).isoformat(timespec="seconds"))
        summary: dict[str, Any] = dict(catalog.summary())
    return summary
