"""The catalog's DuckDB schema, versioned: each migration runs once, in order.

Column names follow the HTAN data model (``HTAN_Data_File_ID``, ``HTAN_Center``, ...) with
spaces replaced by underscores, as ISB-CGC's BigQuery tables spell them, so the same SQL runs on
both engines. A file is keyed by its DRS id: one HTAN Data File ID may map to several DRS ids.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION_TABLE = "schema_migrations"

# Append only: never edit a migration that has shipped; add a new one.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE commons_meta (key VARCHAR PRIMARY KEY, value VARCHAR);

        CREATE TABLE participants (
            HTAN_Participant_ID VARCHAR PRIMARY KEY,
            HTAN_Center VARCHAR,
            atlas_name VARCHAR,
            Tissue_or_Organ_of_Origin VARCHAR,
            Primary_Diagnosis VARCHAR,
            Gender VARCHAR,
            Race VARCHAR,
            Ethnicity VARCHAR,
            Age_at_Diagnosis_years INTEGER,
            Vital_Status VARCHAR
        );

        CREATE TABLE biospecimens (
            HTAN_Biospecimen_ID VARCHAR PRIMARY KEY,
            HTAN_Participant_ID VARCHAR,
            HTAN_Parent_ID VARCHAR,
            Biospecimen_Type VARCHAR,
            Tissue_or_Organ_of_Origin VARCHAR,
            Preservation_Method VARCHAR,
            HTAN_Center VARCHAR
        );

        CREATE TABLE files (
            drs_id VARCHAR PRIMARY KEY,          -- DRS object id, e.g. dg.4DFC/<uuid>
            drs_host VARCHAR,                    -- NULL: served by this commons
            drs_uri VARCHAR,                     -- full hostname-based URI when known
            HTAN_Data_File_ID VARCHAR,
            entityId VARCHAR,                    -- Synapse id
            Filename VARCHAR,                    -- HTAN path, e.g. imaging_level_2/x.ome.tif
            name VARCHAR NOT NULL,               -- basename used in manifests
            size BIGINT,
            md5 VARCHAR,
            sha256 VARCHAR,
            object_key VARCHAR,                  -- key in the object store (sha-256) or NULL
            mime_type VARCHAR,
            Component VARCHAR,                   -- HTAN component, e.g. ImagingLevel2
            level VARCHAR,                       -- 'Level 1' .. 'Level 4', 'Auxiliary'
            assay VARCHAR,                       -- Imaging Assay Type or assay name
            File_Format VARCHAR,
            HTAN_Center VARCHAR,
            atlas_name VARCHAR,
            HTAN_Participant_ID VARCHAR,
            biospecimen_ids VARCHAR[],
            HTAN_Parent_Data_File_ID VARCHAR[],
            Data_Release VARCHAR,
            Tissue_or_Organ_of_Origin VARCHAR,   -- denormalised from participants for facets
            Primary_Diagnosis VARCHAR,           -- denormalised from participants for facets
            access VARCHAR NOT NULL DEFAULT 'open',  -- 'open' | 'controlled'
            consent_group VARCHAR,               -- e.g. phs002371 for controlled files
            Channel_Metadata_Filename VARCHAR,
            created_time TIMESTAMP,
            description VARCHAR
        );

        CREATE TABLE imaging (
            drs_id VARCHAR PRIMARY KEY,
            SizeX BIGINT, SizeY BIGINT, SizeZ INTEGER, SizeC INTEGER, SizeT INTEGER,
            PhysicalSizeX DOUBLE, PhysicalSizeXUnit VARCHAR,
            PhysicalSizeY DOUBLE, PhysicalSizeYUnit VARCHAR,
            PhysicalSizeZ DOUBLE, PhysicalSizeZUnit VARCHAR,
            DimensionOrder VARCHAR,
            PixelType VARCHAR,
            Pyramid BOOLEAN,
            PyramidLevels INTEGER,
            TileSizeX INTEGER, TileSizeY INTEGER,
            Compression VARCHAR,
            Microscope VARCHAR,
            Objective VARCHAR,
            NominalMagnification DOUBLE,
            Imaging_Assay_Type VARCHAR
        );

        CREATE TABLE channels (
            drs_id VARCHAR,
            channel_index INTEGER,
            Channel_ID VARCHAR,
            Channel_Name VARCHAR,
            Target VARCHAR,
            Antibody_Name VARCHAR,
            Fluorophore VARCHAR,
            Cycle_Number INTEGER,
            Color VARCHAR,
            PRIMARY KEY (drs_id, channel_index)
        );

        CREATE TABLE file_biospecimens (
            drs_id VARCHAR,
            HTAN_Biospecimen_ID VARCHAR
        );
        """,
    ),
    (
        2,
        """
        -- Local files registered by `htan-cds ingest`: re-ingest skips files whose path, size
        -- and mtime are unchanged, so checksums are computed once.
        CREATE TABLE ingest_sources (
            source_path VARCHAR PRIMARY KEY,
            size BIGINT,
            mtime_ns BIGINT,
            sha256 VARCHAR,
            drs_id VARCHAR,
            ingested_at TIMESTAMP DEFAULT current_timestamp
        );
        """,
    ),
    (
        3,
        """
        -- File counts per combination of facet values, rebuilt after every catalog build.
        -- Facet counts read this (thousands of rows) instead of scanning millions of files
        -- whenever the filter only constrains facets.
        CREATE TABLE facet_cube (
            HTAN_Center VARCHAR, atlas_name VARCHAR, assay VARCHAR,
            Tissue_or_Organ_of_Origin VARCHAR, Primary_Diagnosis VARCHAR, level VARCHAR,
            Data_Release VARCHAR, File_Format VARCHAR, access VARCHAR,
            n BIGINT, total_size HUGEINT
        );
        """,
    ),
    (
        4,
        """
        -- Several sources in one catalog (issue 16): every file says where its bytes come from
        -- ('CDS': CRDC DRS objects, 'IDC': the Imaging Data Commons' public buckets, 'local':
        -- this commons' own store), and IDC series keep the identifiers IDC's tools use.
        ALTER TABLE files ADD COLUMN source VARCHAR;
        ALTER TABLE files ADD COLUMN collection_id VARCHAR;
        ALTER TABLE files ADD COLUMN StudyInstanceUID VARCHAR;
        ALTER TABLE files ADD COLUMN SeriesInstanceUID VARCHAR;
        ALTER TABLE files ADD COLUMN crdc_series_uuid VARCHAR;
        ALTER TABLE files ADD COLUMN series_aws_url VARCHAR;
        ALTER TABLE files ADD COLUMN Modality VARCHAR;
        ALTER TABLE files ADD COLUMN instance_count BIGINT;
        ALTER TABLE files ADD COLUMN license VARCHAR;
        ALTER TABLE files ADD COLUMN doi VARCHAR;
        ALTER TABLE files ADD COLUMN idc_release VARCHAR;
        ALTER TABLE facet_cube ADD COLUMN source VARCHAR;
        UPDATE files SET source = CASE WHEN drs_host IS NULL OR drs_host = '' THEN 'local'
                                       ELSE 'CDS' END;
        DELETE FROM facet_cube;
        INSERT INTO facet_cube BY NAME
        SELECT HTAN_Center, atlas_name, assay, Tissue_or_Organ_of_Origin, Primary_Diagnosis,
               level, Data_Release, File_Format, access, source,
               count(*) AS n, sum(size) AS total_size
        FROM files GROUP BY ALL;
        -- Published collections behind files (citations, DOIs, licences), one row each.
        CREATE TABLE collections (
            collection_id VARCHAR PRIMARY KEY,
            source VARCHAR,
            collection_name VARCHAR,
            HTAN_Center VARCHAR,
            title VARCHAR,
            doi VARCHAR,
            url VARCHAR,
            citation VARCHAR,
            authors VARCHAR[],
            year INTEGER,
            publisher VARCHAR,
            license VARCHAR,
            license_url VARCHAR,
            cancer_types VARCHAR,
            tumor_locations VARCHAR,
            subjects BIGINT,
            idc_release VARCHAR
        );
        """,
    ),
]

CURRENT_SCHEMA_VERSION = MIGRATIONS[-1][0]


def applied_version(con: Any) -> int:
    """The highest migration applied to ``con`` (0 for an empty database)."""
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {SCHEMA_VERSION_TABLE} "
        "(version INTEGER PRIMARY KEY, applied_at TIMESTAMP DEFAULT current_timestamp)"
    )
    row = con.execute(f"SELECT max(version) FROM {SCHEMA_VERSION_TABLE}").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(con: Any) -> int:
    """Apply pending migrations in one transaction each; return the resulting version."""
    current = applied_version(con)
    for version, ddl in MIGRATIONS:
        if version <= current:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(ddl)
            con.execute(f"INSERT INTO {SCHEMA_VERSION_TABLE} (version) VALUES (?)", [version])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        current = version
    return current
