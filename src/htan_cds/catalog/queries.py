"""Queries written once, in BigQuery SQL, and run on BigQuery or (transpiled by sqlglot) DuckDB.

The build queries read ISB-CGC's public HTAN tables by their real names and columns
(``isb-cgc-bq.HTAN.gc_drs_map_current``, ``id_provenance_current``,
``imaging_level2_metadata_current``, ``imaging_channel_metadata_current``, clinical and
biospecimen tables; ``isb-cgc-bq.HTAN_versioned.*_rN`` for releases). A query names tables by
*role* (``{drs_map}``, ``{provenance}``, …); :func:`render` fills in the real BigQuery names
or local DuckDB table names and translates the dialect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlglot

from htan_cds.errors import UsageError

BQ_PROJECT = "isb-cgc-bq"
CRDC_HOST = "nci-crdc.datacommons.io"
CONTROLLED_CONSENT_GROUP = "phs002371"

# Roles -> base table names in ISB-CGC's HTAN datasets (suffix _current or _rN added).
ROLES: dict[str, str] = {
    "drs_map": "gc_drs_map",
    "provenance": "id_provenance",
    "imaging": "imaging_level2_metadata",
    "channels": "imaging_channel_metadata",
    "biospecimen": "biospecimen",
    "demographics": "clinical_tier1_demographics",
    "diagnosis": "clinical_tier1_diagnosis",
}

# The columns each role's query uses, as ISB-CGC spells them (fixtures and file loads fill
# missing ones with NULL, so partial exports still build).
ROLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "drs_map": ("name", "entityId", "HTAN_Data_File_ID", "drs_uri", "HTAN_Center"),
    "provenance": (
        "HTAN_Data_File_ID",
        "Filename",
        "entityId",
        "Component",
        "Data_Release",
        "HTAN_Center",
        "HTAN_Assayed_Biospecimen_ID",
        "HTAN_Parent_Data_File_ID",
        "HTAN_Participant_ID",
    ),
    "imaging": (
        "entityId",
        "HTAN_Data_File_ID",
        "Filename",
        "File_Format",
        "Component",
        "HTAN_Center",
        "Data_Release",
        "Imaging_Assay_Type",
        "HTAN_Parent_Biospecimen_ID",
        "SizeX",
        "SizeY",
        "SizeZ",
        "SizeC",
        "SizeT",
        "PhysicalSizeX",
        "PhysicalSizeXUnit",
        "PhysicalSizeY",
        "PhysicalSizeYUnit",
        "PhysicalSizeZ",
        "PhysicalSizeZUnit",
        "DimensionOrder",
        "PixelType",
        "Pyramid",
        "Microscope",
        "Objective",
        "NominalMagnification",
        "Channel_Metadata_Filename",
        "File_Size",
        "md5",
    ),
    "channels": ("Channel_Metadata_Filename", "lineNum", "channel_attributes"),
    "biospecimen": (
        "HTAN_Biospecimen_ID",
        "HTAN_Parent_ID",
        "Biospecimen_Type",
        "Preservation_Method",
        "HTAN_Center",
    ),
    "demographics": ("HTAN_Participant_ID", "Gender", "Race", "Ethnicity", "Vital_Status"),
    "diagnosis": (
        "HTAN_Participant_ID",
        "Tissue_or_Organ_of_Origin",
        "Primary_Diagnosis",
        "Age_at_Diagnosis",
    ),
}

# Catalog files from the DRS map joined with provenance and imaging metadata. One row per DRS
# object (an HTAN Data File ID may have several). Compact CRDC ids get CRDC's hostname.
FILES_SQL = f"""
WITH drs AS (
  SELECT
    name, entityId, HTAN_Data_File_ID, {{map_center}} AS map_center,
    REGEXP_REPLACE(TRIM(drs_uri), r'^drs://', '') AS rest
  FROM {{drs_map}}
  WHERE drs_uri IS NOT NULL AND TRIM(drs_uri) != ''
), parsed AS (
  SELECT *,
    CASE WHEN STARTS_WITH(rest, 'dg.') THEN '{CRDC_HOST}'
         ELSE SPLIT(rest, '/')[OFFSET(0)] END AS drs_host,
    CASE WHEN STARTS_WITH(rest, 'dg.') THEN rest
         ELSE SUBSTR(rest, STRPOS(rest, '/') + 1) END AS drs_id
  FROM drs
), prov AS (
  SELECT HTAN_Data_File_ID,
    ANY_VALUE(Filename) AS Filename, ANY_VALUE(Component) AS Component,
    ANY_VALUE(Data_Release) AS Data_Release, ANY_VALUE(HTAN_Center) AS HTAN_Center,
    ANY_VALUE(HTAN_Participant_ID) AS HTAN_Participant_ID,
    ANY_VALUE(HTAN_Assayed_Biospecimen_ID) AS biospecimen,
    ANY_VALUE(HTAN_Parent_Data_File_ID) AS parents
  FROM {{provenance}} GROUP BY HTAN_Data_File_ID
), img AS (
  SELECT entityId, ANY_VALUE(HTAN_Data_File_ID) AS img_file_id,
    ANY_VALUE(Filename) AS Filename, ANY_VALUE(File_Format) AS File_Format,
    ANY_VALUE(HTAN_Center) AS HTAN_Center, ANY_VALUE(Data_Release) AS Data_Release,
    ANY_VALUE(Imaging_Assay_Type) AS Imaging_Assay_Type,
    ANY_VALUE(HTAN_Parent_Biospecimen_ID) AS biospecimen,
    ANY_VALUE(Channel_Metadata_Filename) AS Channel_Metadata_Filename,
    ANY_VALUE(File_Size) AS File_Size, ANY_VALUE(md5) AS md5
  FROM {{imaging}} GROUP BY entityId
), img_by_name AS (
  -- Imaging manifests often carry only name + drs_uri: match on the file's base name.
  SELECT REGEXP_EXTRACT(Filename, r'[^/]+$') AS base_name, ANY_VALUE(entityId) AS entityId
  FROM img WHERE Filename IS NOT NULL GROUP BY base_name
), keyed AS (
  SELECT p.* EXCEPT (entityId), COALESCE(p.entityId, n.entityId) AS entityId
  FROM parsed p LEFT JOIN img_by_name n ON p.entityId IS NULL AND n.base_name = p.name
), joined AS (
  SELECT p.*,
    COALESCE(p.HTAN_Data_File_ID, i.img_file_id) AS file_id,
    COALESCE(pr.Filename, i.Filename) AS Filename,
    COALESCE(pr.Component, CASE WHEN i.entityId IS NOT NULL THEN 'ImagingLevel2' END)
      AS Component,
    COALESCE(pr.Data_Release, i.Data_Release) AS Data_Release,
    COALESCE(pr.HTAN_Center, i.HTAN_Center, p.map_center) AS HTAN_Center,
    pr.HTAN_Participant_ID AS HTAN_Participant_ID,
    COALESCE(pr.biospecimen, i.biospecimen) AS biospecimen,
    pr.parents AS parents,
    i.File_Format AS File_Format, i.Imaging_Assay_Type AS Imaging_Assay_Type,
    i.Channel_Metadata_Filename AS Channel_Metadata_Filename,
    i.File_Size AS File_Size, i.md5 AS md5
  FROM keyed p
  LEFT JOIN prov pr ON pr.HTAN_Data_File_ID = p.HTAN_Data_File_ID
  LEFT JOIN img i ON i.entityId = p.entityId
)
SELECT
  drs_id, drs_host, CONCAT('drs://', drs_host, '/', drs_id) AS drs_uri,
  file_id AS HTAN_Data_File_ID, entityId, Filename, name,
  SAFE_CAST(File_Size AS INT64) AS size, md5, Component,
  CASE WHEN REGEXP_CONTAINS(Component, r'Level[0-9]')
       THEN CONCAT('Level ', REGEXP_EXTRACT(Component, r'Level([0-9])'))
       WHEN Component IS NULL THEN NULL ELSE 'Auxiliary' END AS level,
  COALESCE(Imaging_Assay_Type, NULLIF(REGEXP_REPLACE(Component, r'Level[0-9].*$', ''), ''))
    AS assay,
  COALESCE(File_Format,
           CASE WHEN REGEXP_CONTAINS(LOWER(name), r'\\.ome\\.tiff?$') THEN 'OME-TIFF' END,
           REGEXP_EXTRACT(LOWER(name), r'\\.([a-z0-9]+)(?:\\.gz)?$')) AS File_Format,
  HTAN_Center, HTAN_Center AS atlas_name, HTAN_Participant_ID,
  biospecimen AS biospecimen_csv, parents AS parents_csv, Data_Release,
  CASE WHEN NOT STARTS_WITH(COALESCE(Component, ''), 'Imaging')
        AND REGEXP_CONTAINS(COALESCE(Component, ''), r'Level[12]$')
       THEN 'controlled' ELSE 'open' END AS access,
  Channel_Metadata_Filename
FROM joined
"""

IMAGING_SQL = """
SELECT entityId,
  ANY_VALUE(SAFE_CAST(SizeX AS INT64)) AS SizeX, ANY_VALUE(SAFE_CAST(SizeY AS INT64)) AS SizeY,
  ANY_VALUE(SAFE_CAST(SizeZ AS INT64)) AS SizeZ, ANY_VALUE(SAFE_CAST(SizeC AS INT64)) AS SizeC,
  ANY_VALUE(SAFE_CAST(SizeT AS INT64)) AS SizeT,
  ANY_VALUE(SAFE_CAST(PhysicalSizeX AS FLOAT64)) AS PhysicalSizeX,
  ANY_VALUE(PhysicalSizeXUnit) AS PhysicalSizeXUnit,
  ANY_VALUE(SAFE_CAST(PhysicalSizeY AS FLOAT64)) AS PhysicalSizeY,
  ANY_VALUE(PhysicalSizeYUnit) AS PhysicalSizeYUnit,
  ANY_VALUE(SAFE_CAST(PhysicalSizeZ AS FLOAT64)) AS PhysicalSizeZ,
  ANY_VALUE(PhysicalSizeZUnit) AS PhysicalSizeZUnit,
  ANY_VALUE(DimensionOrder) AS DimensionOrder, ANY_VALUE(PixelType) AS PixelType,
  ANY_VALUE(LOWER(CAST(Pyramid AS STRING)) IN ('yes', 'true')) AS Pyramid,
  ANY_VALUE(Microscope) AS Microscope, ANY_VALUE(Objective) AS Objective,
  ANY_VALUE(SAFE_CAST(NominalMagnification AS FLOAT64)) AS NominalMagnification,
  ANY_VALUE(Imaging_Assay_Type) AS Imaging_Assay_Type
FROM {imaging}
GROUP BY entityId
"""

PARTICIPANTS_SQL = """
SELECT dm.HTAN_Participant_ID,
  ANY_VALUE(dm.Gender) AS Gender, ANY_VALUE(dm.Race) AS Race,
  ANY_VALUE(dm.Ethnicity) AS Ethnicity, ANY_VALUE(dm.Vital_Status) AS Vital_Status,
  ANY_VALUE(dx.Tissue_or_Organ_of_Origin) AS Tissue_or_Organ_of_Origin,
  ANY_VALUE(dx.Primary_Diagnosis) AS Primary_Diagnosis,
  ANY_VALUE(SAFE_CAST(dx.Age_at_Diagnosis AS INT64)) AS Age_at_Diagnosis_days
FROM {demographics} dm
LEFT JOIN {diagnosis} dx ON dx.HTAN_Participant_ID = dm.HTAN_Participant_ID
GROUP BY dm.HTAN_Participant_ID
"""

BIOSPECIMENS_SQL = """
SELECT HTAN_Biospecimen_ID, ANY_VALUE(HTAN_Parent_ID) AS HTAN_Parent_ID,
  ANY_VALUE(Biospecimen_Type) AS Biospecimen_Type,
  ANY_VALUE(Preservation_Method) AS Preservation_Method, ANY_VALUE(HTAN_Center) AS HTAN_Center
FROM {biospecimen}
GROUP BY HTAN_Biospecimen_ID
"""

CHANNELS_SQL = """
SELECT c.Channel_Metadata_Filename, c.lineNum, a.attributeName, a.attributeValue
FROM {channels} c, UNNEST(c.channel_attributes) AS a
"""

QUERIES: dict[str, str] = {
    "files": FILES_SQL,
    "imaging": IMAGING_SQL,
    "participants": PARTICIPANTS_SQL,
    "biospecimens": BIOSPECIMENS_SQL,
    "channels": CHANNELS_SQL,
}

_RELEASE_RE = re.compile(r"^(current|r[1-9][0-9]*)$")


@dataclass(frozen=True)
class Release:
    """Which ISB-CGC HTAN tables a release reads."""

    name: str

    @classmethod
    def parse(cls, text: str) -> Release:
        """``current`` or ``rN`` (case-insensitive)."""
        value = text.strip().lower()
        if not _RELEASE_RE.match(value):
            raise UsageError(f"release must be 'current' or rN (e.g. r5), not {text!r}")
        return cls(value)

    @property
    def number(self) -> int | None:
        """N of rN, or None for current."""
        return None if self.name == "current" else int(self.name[1:])

    @property
    def drs_map_center(self) -> str:
        """The DRS map's center column, or NULL for the older cds_drs_map tables."""
        if self.number is not None and self.number <= 5:
            return "CAST(NULL AS STRING)"
        return "HTAN_Center"

    def table(self, role: str) -> str:
        """The fully qualified BigQuery table for ``role`` in this release."""
        base = ROLES[role]
        if self.number is None:
            return f"{BQ_PROJECT}.HTAN.{base}_current"
        # Releases up to r5 published the DRS map as cds_drs_map (CDS_Release naming).
        if role == "drs_map" and self.number <= 5:
            base = "cds_drs_map"
        return f"{BQ_PROJECT}.HTAN_versioned.{base}_{self.name}"


def render(
    query: str,
    tables: dict[str, str],
    dialect: str = "bigquery",
    map_center: str = "HTAN_Center",
) -> str:
    """``query`` with role placeholders bound to ``tables`` and translated to ``dialect``.

    BigQuery names are backquoted; any other dialect is produced by sqlglot from the BigQuery
    text, so the query is written (and reviewed) once. ``map_center`` is the DRS map's center
    expression (the r1–r5 ``cds_drs_map`` tables have no ``HTAN_Center`` column).
    """
    names = {role: f"`{name}`" for role, name in tables.items()}
    bound = query.format(map_center=map_center, **names)
    if dialect == "bigquery":
        return bound
    return sqlglot.transpile(bound, read="bigquery", write=dialect, pretty=True)[0]


def bigquery_tables(release: Release, roles: list[str] | None = None) -> dict[str, str]:
    """Role -> BigQuery table for ``release``."""
    return {role: release.table(role) for role in roles or ROLES}
