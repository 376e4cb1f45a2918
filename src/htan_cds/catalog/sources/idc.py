"""Catalog source ``idc``: HTAN's slide-microscopy series in the NCI Imaging Data Commons.

IDC publishes its index as the ``idc-index-data`` wheel (Parquet files read by IDC's own
``idc-index`` with DuckDB); this builder reads the same files locally, so it needs no network
and no credentials. One catalog row per DICOM series of an HTAN collection (``htan_hms``,
``htan_ohsu``, …: every collection whose ``program_id`` is ``htan`` in ``collections_index``, or
whose id starts with ``htan_``); the series' objects sit in a public bucket under
``s3://<aws_bucket>/<crdc_series_uuid>/`` (``series_aws_url``, as idc-index writes it).

Rows added here carry ``source = 'IDC'``; building replaces the catalog's IDC rows only and
keeps every other source. Needs ``pip install 'htan-cds[idc]'`` (the ``idc-index-data`` package).
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from htan_cds.catalog.store import Catalog
from htan_cds.config import DataHome
from htan_cds.errors import CatalogError, UsageError

SOURCE = "IDC"
# Catalog DRS ids of IDC series: ``idc/<crdc_series_uuid>`` (slash form, like ``dg.4DFC/<uuid>``).
ID_PREFIX = "idc/"
# The assays HTAN writes in IDC's SeriesDescription, in the catalog's spelling.
_ASSAYS = ("t-CyCIF", "CyCIF", "mIHC", "IMC", "H&E", "CODEX", "MIBI", "MxIF")
_MISSING_EXTRA = "the idc source needs the idc-index-data package: pip install 'htan-cds[idc]'"


@dataclass(frozen=True)
class IdcIndex:
    """The Parquet files of an installed ``idc-index-data`` and the IDC release they hold."""

    series: Path
    collections: Path | None
    versions: Path | None
    package_version: str

    @property
    def release(self) -> str:
        """IDC data release of the index, ``v<N>`` (the package's major version is N)."""
        return "v" + self.package_version.split(".", 1)[0]


def installed_index() -> IdcIndex:
    """The installed ``idc-index-data`` files; :class:`UsageError` (one line) when absent."""
    found = _index_in_package_folder()
    if found is not None:
        return found
    try:
        import idc_index_data
    except ImportError as exc:
        raise UsageError(_MISSING_EXTRA) from exc
    series = getattr(idc_index_data, "IDC_INDEX_PARQUET_FILEPATH", None)
    if series is None or not Path(series).is_file():
        raise CatalogError("idc-index-data is installed but its idc_index.parquet is missing")
    meta: dict[str, dict[str, Any]] = getattr(idc_index_data, "INDEX_METADATA", {}) or {}

    def _optional(name: str) -> Path | None:
        path = (meta.get(name) or {}).get("parquet_filepath")
        return Path(path) if path and Path(path).is_file() else None

    return IdcIndex(
        series=Path(series),
        collections=_optional("collections_index"),
        versions=_optional("version_metadata_index"),
        package_version=str(getattr(idc_index_data, "__version__", "0")),
    )


def _index_in_package_folder() -> IdcIndex | None:
    """The index files where a wheel installs them (``idc_index_data/<name>.parquet``), found
    without importing the package: its ``__init__`` walks the distribution's RECORD and loads
    every index's JSON schema (0.1-0.3 s of a CLI call). None when they are elsewhere (an
    editable install) or the package is absent; the caller then imports it."""
    import importlib.metadata
    import importlib.util

    try:
        spec = importlib.util.find_spec("idc_index_data")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations)))
    series = folder / "idc_index.parquet"
    if not series.is_file():
        return None
    try:
        version = importlib.metadata.version("idc-index-data")
    except importlib.metadata.PackageNotFoundError:
        return None

    def _optional(name: str) -> Path | None:
        path = folder / f"{name}.parquet"
        return path if path.is_file() else None

    return IdcIndex(
        series=series,
        collections=_optional("collections_index"),
        versions=_optional("version_metadata_index"),
        package_version=version,
    )


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _known_centers() -> dict[str, str]:
    """HTAN center names by a spelling-free key (``HTAN-VANDERBILT`` -> ``HTAN Vanderbilt``)."""
    from htan_cds.catalog.demo_data import CENTERS

    return {_key(c.name): c.name for c in CENTERS}


def _key(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", " ", text.upper()).strip()


def center_of(collection_id: str, collection_name: str | None) -> str:
    """HTAN center of a collection: ``htan_tnp_sardana`` / ``HTAN-TNP-SARDANA`` ->
    ``HTAN TNP SARDANA``, spelled as HTAN spells its centers when the center is known."""
    raw = collection_name or collection_id
    key = _key(raw)
    known = _known_centers()
    if key in known:
        return known[key]
    words = key.split()
    if words and words[0] == "HTAN":
        return "HTAN " + " ".join(words[1:])
    return raw


def assay_of(description: str | None) -> str | None:
    """The assay named by a SeriesDescription (``t-CyCIF``, ``H&E``, …), case-insensitively."""
    if not description:
        return None
    text = description.strip()
    for assay in _ASSAYS:
        if text.lower() == assay.lower():
            return assay
    return text


def clean_citation(text: str | None) -> str | None:
    """IDC's citation HTML (``&amp;``, ``<i>…</i>``, line breaks) as plain text."""
    if not text:
        return None
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    return re.sub(r"\s+", " ", plain).strip()


_AUTHOR_RE = re.compile(r"([^,&]+?),\s*((?:[A-Z]\.(?:[\s-]?[A-Z]\.)*\s?)+)")


def parse_citation(text: str | None) -> tuple[list[str], int | None, str | None]:
    """``(authors as "Family, G.", year, publisher)`` from an APA-style data set citation
    (``Clunie, D., … & Fedorov, A. (2024). <i>Title</i> [Data set]. Zenodo. https://…``)."""
    if not text:
        return [], None, None
    match = re.search(r"\((\d{4})\)", text)
    if match is None:
        return [], None, None
    authors = [
        f"{family.strip()}, {given.strip()}"
        for family, given in _AUTHOR_RE.findall(text[: match.start()])
        if family.strip()
    ]
    publisher = re.search(r"\[Data set\]\.\s*([^.]+)\.", text)
    return authors, int(match.group(1)), publisher.group(1).strip() if publisher else None


def _collections(con: Any, index: IdcIndex) -> list[dict[str, Any]]:
    """One dict per HTAN collection: ids, center, organ, diagnosis, DOI, licence, citation."""
    series = _literal(index.series)
    found = con.execute(
        f"SELECT DISTINCT collection_id FROM read_parquet({series}) "
        r"WHERE collection_id LIKE 'htan\_%' ESCAPE '\'"
    ).fetchall()
    ids = {str(r[0]) for r in found}
    meta: dict[str, dict[str, Any]] = {}
    if index.collections is not None:
        rows = con.execute(
            f"SELECT * FROM read_parquet({_literal(index.collections)}) "
            r"WHERE lower(program_id) = 'htan' OR collection_id LIKE 'htan\_%' ESCAPE '\'"
        )
        names = [d[0] for d in rows.description]
        for values in rows.fetchall():
            record = dict(zip(names, values, strict=True))
            meta[str(record["collection_id"])] = record
    ids |= set(meta)
    # The series' own DOI and licence are the fallback when collections_index is absent.
    per_series = {
        str(r[0]): (r[1], r[2])
        for r in con.execute(
            f"SELECT collection_id, any_value(source_DOI), any_value(license_short_name) "
            f"FROM read_parquet({series}) WHERE collection_id IN "
            f"(SELECT unnest(?::VARCHAR[])) GROUP BY 1",
            [sorted(ids)],
        ).fetchall()
    }
    result = []
    for cid in sorted(ids):
        record = meta.get(cid, {})
        original = _original_source(record.get("sources"), cid)
        licence = original.get("license") or {}
        citation = clean_citation(original.get("citation"))
        authors, year, publisher = parse_citation(citation)
        doi = original.get("source_doi") or per_series.get(cid, (None, None))[0]
        result.append(
            {
                "collection_id": cid,
                "source": SOURCE,
                "collection_name": record.get("collection_name") or cid,
                "HTAN_Center": center_of(cid, record.get("collection_name")),
                "title": original.get("source_title") or record.get("collection_name") or cid,
                "doi": doi,
                "url": original.get("source_url") or (f"https://doi.org/{doi}" if doi else None),
                "citation": citation,
                "authors": authors,
                "year": year,
                "publisher": publisher,
                "license": licence.get("license_short_name") or per_series.get(cid, (0, 0))[1],
                "license_url": licence.get("license_url"),
                "cancer_types": record.get("cancer_types"),
                "tumor_locations": record.get("tumor_locations"),
                "subjects": record.get("subjects"),
                "idc_release": index.release,
            }
        )
    return result


def _original_source(sources: Any, collection_id: str) -> dict[str, Any]:
    """The collection's ``original_data`` entry of ``sources`` (the DICOM conversion itself)."""
    entries = [s for s in (sources or []) if isinstance(s, dict)]
    for entry in entries:
        if entry.get("source_type") == "original_data" and entry.get("source_id") == collection_id:
            return entry
    for entry in entries:
        if entry.get("source_type") == "original_data":
            return entry
    return entries[0] if entries else {}


def _assay_sql(expr: str) -> str:
    """SQL for :func:`assay_of` of ``expr`` (the catalog's spelling of a known assay)."""
    cases = " ".join(f"WHEN lower(trim({expr})) = '{a.lower()}' THEN '{a}'" for a in _ASSAYS)
    return f"CASE {cases} ELSE nullif(trim({expr}), '') END"


def _series_sql(index: IdcIndex) -> str:
    """Catalog ``files`` rows of the HTAN collections' series (collections in ``_idc_coll``)."""
    # A presentation state (PR) has no SeriesDescription: it takes the assay of the slide
    # series of its study when that study holds exactly one assay.
    return f"""
        WITH s AS (
            SELECT i.* FROM read_parquet({_literal(index.series)}) i
            JOIN _idc_coll c USING (collection_id)
        ), study_assay AS (
            SELECT StudyInstanceUID, any_value(SeriesDescription) AS d FROM s
            WHERE SeriesDescription IS NOT NULL AND SeriesDescription <> ''
            GROUP BY 1 HAVING count(DISTINCT SeriesDescription) = 1
        )
        SELECT
            '{ID_PREFIX}' || s.crdc_series_uuid AS drs_id,
            s.aws_bucket AS drs_host,
            s.series_aws_url AS drs_uri,
            s.collection_id || '/' || s.PatientID || '/' || s.SeriesInstanceUID AS Filename,
            s.Modality || '_' || s.SeriesInstanceUID AS name,
            CAST(round(s.series_size_MB * 1000000) AS BIGINT) AS size,
            'application/dicom' AS mime_type,
            {_assay_sql("coalesce(nullif(s.SeriesDescription, ''), sa.d)")} AS assay,
            'DICOM' AS File_Format,
            c.HTAN_Center, c.HTAN_Center AS atlas_name,
            s.PatientID AS HTAN_Participant_ID,
            -- 'colon' beside 'Colon' would split one organ facet value in two.
            CASE WHEN c.tumor_locations = lower(c.tumor_locations)
                 THEN upper(c.tumor_locations[1]) || c.tumor_locations[2:]
                 ELSE c.tumor_locations END AS Tissue_or_Organ_of_Origin,
            c.cancer_types AS Primary_Diagnosis,
            'open' AS access,
            s.StudyDescription AS description,
            '{SOURCE}' AS source,
            s.collection_id, s.StudyInstanceUID, s.SeriesInstanceUID, s.crdc_series_uuid,
            s.series_aws_url, s.Modality,
            s.instanceCount AS instance_count,
            s.license_short_name AS license,
            s.source_DOI AS doi,
            c.idc_release
        FROM s JOIN _idc_coll c USING (collection_id)
        LEFT JOIN study_assay sa USING (StudyInstanceUID)
        WHERE s.crdc_series_uuid IS NOT NULL
    """


def build_from_idc(home: DataHome, index: IdcIndex | None = None) -> dict[str, Any]:
    """Add (or refresh) the IDC rows of the catalog in ``home``, keeping every other source.

    Returns ``{"source": "idc", "files", "participants", "collections", "bytes",
    "idc_release", "idc_index_data", "seconds"}`` (counts of the IDC rows written).
    Raises :class:`UsageError` without ``idc-index-data``.
    """
    started = time.monotonic()
    index = index or installed_index()
    with Catalog.open(home) as catalog:
        con: Any = catalog.connection
        collections = _collections(con, index)
        if not collections:
            raise CatalogError(f"idc-index-data {index.package_version} has no HTAN collections")
        con.execute("BEGIN TRANSACTION")
        try:
            _replace_rows(con, collections, index)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        catalog.refresh_derived()
        catalog.set_meta("idc_release", index.release)
        catalog.set_meta("idc_index_data", index.package_version)
        if catalog.get_meta("source") is None:
            catalog.set_meta("source", "idc")
        row = con.execute(
            "SELECT count(*), count(DISTINCT HTAN_Participant_ID), coalesce(sum(size), 0) "
            "FROM files WHERE source = ?",
            [SOURCE],
        ).fetchone()
    assert row is not None
    return {
        "source": "idc",
        "files": int(row[0]),
        "participants": int(row[1]),
        "collections": len(collections),
        "bytes": int(row[2]),
        "idc_release": index.release,
        "idc_index_data": index.package_version,
        "seconds": round(time.monotonic() - started, 3),
    }


def _replace_rows(con: Any, collections: list[dict[str, Any]], index: IdcIndex) -> None:
    # Earlier IDC rows go; participants only IDC knew go with them (others keep theirs).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _idc_old AS "
        "SELECT DISTINCT HTAN_Participant_ID AS pid FROM files WHERE source = ?",
        [SOURCE],
    )
    con.execute("DELETE FROM files WHERE source = ?", [SOURCE])
    con.execute(
        "DELETE FROM participants WHERE HTAN_Participant_ID IN (SELECT pid FROM _idc_old) "
        "AND HTAN_Participant_ID NOT IN (SELECT HTAN_Participant_ID FROM files "
        "WHERE HTAN_Participant_ID IS NOT NULL)"
    )
    con.execute("DELETE FROM collections WHERE source = ?", [SOURCE])
    # On this connection: a cursor would be another transaction, blind to the deletes above.
    columns = list(collections[0])
    con.executemany(
        f"INSERT INTO collections ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})",
        [[c[k] for k in columns] for c in collections],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _idc_coll AS SELECT * FROM collections WHERE source = ?",
        [SOURCE],
    )
    con.execute(f"INSERT INTO files BY NAME {_series_sql(index)}")
    con.execute(
        """
        INSERT INTO participants (HTAN_Participant_ID, HTAN_Center, atlas_name,
                                  Tissue_or_Organ_of_Origin, Primary_Diagnosis)
        SELECT HTAN_Participant_ID, any_value(HTAN_Center), any_value(atlas_name),
               any_value(Tissue_or_Organ_of_Origin), any_value(Primary_Diagnosis)
        FROM files WHERE source = ? AND HTAN_Participant_ID IS NOT NULL
          AND HTAN_Participant_ID NOT IN (SELECT HTAN_Participant_ID FROM participants)
        GROUP BY 1
        """,
        [SOURCE],
    )
    con.execute("DROP TABLE _idc_coll")
    con.execute("DROP TABLE _idc_old")


def series_lookup(home: DataHome | None) -> Callable[[list[str]], dict[str, dict[str, str]]]:
    """A lookup ``crdc_series_uuid -> {collection_id, HTAN_Participant_ID, SeriesInstanceUID,
    StudyInstanceUID}`` for the import's series layout: the catalog of ``home`` first, then
    the installed ``idc-index-data`` (series the catalog lacks); unknown uuids are left out."""

    def lookup(uuids: list[str]) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        wanted = sorted(set(uuids))
        if home is not None and home.catalog_path.exists():
            with Catalog.open(home, read_only=True) as catalog, catalog.cursor() as cur:
                found.update(_lookup_rows(cur, "files", "HTAN_Participant_ID", wanted))
        missing = [u for u in wanted if u not in found]
        if missing:
            try:
                index = installed_index()
            except UsageError:
                return found
            import duckdb

            con = duckdb.connect()
            try:
                table = f"read_parquet({_literal(index.series)})"
                found.update(_lookup_rows(con, table, "PatientID", missing))
            finally:
                con.close()
        return found

    return lookup


def _lookup_rows(
    con: Any, table: str, participant: str, uuids: list[str]
) -> dict[str, dict[str, str]]:
    rows = con.execute(
        f"SELECT crdc_series_uuid, collection_id, {participant}, SeriesInstanceUID, "
        f"StudyInstanceUID FROM {table} WHERE crdc_series_uuid IN "
        "(SELECT unnest(?::VARCHAR[]))",
        [uuids],
    ).fetchall()
    return {
        str(r[0]): {
            "collection_id": str(r[1]),
            "HTAN_Participant_ID": str(r[2]),
            "SeriesInstanceUID": str(r[3]),
            "StudyInstanceUID": str(r[4] or ""),
        }
        for r in rows
    }
