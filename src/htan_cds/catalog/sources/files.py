"""Build the catalog from exported HTAN tables: CSV, NDJSON/JSON or Parquet files.

Each file's role (DRS map, provenance, imaging, channels, biospecimen, demographics,
diagnosis) is recognised from its columns, so BigQuery exports, the ``../shared`` manifests and
the portal's ``crdcgc_drs_mapping.json`` load without options. The build then runs the same
queries as the BigQuery builder, transpiled to DuckDB.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from htan_cds.catalog.queries import QUERIES, ROLE_COLUMNS, render
from htan_cds.catalog.sources.finish import finish_build
from htan_cds.catalog.store import Catalog
from htan_cds.config import DataHome
from htan_cds.errors import CatalogError, UsageError

_QUERY_ROLES: dict[str, tuple[str, ...]] = {
    "files": ("drs_map", "provenance", "imaging"),
    "imaging": ("imaging",),
    "participants": ("demographics", "diagnosis"),
    "biospecimens": ("biospecimen",),
    "channels": ("channels",),
}


def detect_role(columns: list[str]) -> str | None:
    """Which ISB-CGC HTAN table a set of columns comes from (None when unrecognised)."""
    cols = {c.lower() for c in columns}
    if "drs_uri" in cols:
        return "drs_map"
    if "htan_assayed_biospecimen_id" in cols:
        return "provenance"
    if "channel_attributes" in cols or {"attributename", "linenum"} <= cols:
        return "channels"
    if "sizex" in cols or "imaging_assay_type" in cols:
        return "imaging"
    if "filename" in cols and ({"gc_release", "cds_release"} & cols):
        return "imaging"
    if "htan_biospecimen_id" in cols:
        return "biospecimen"
    if "primary_diagnosis" in cols or "tissue_or_organ_of_origin" in cols:
        return "diagnosis"
    if "gender" in cols or "race" in cols or "vital_status" in cols:
        return "demographics"
    return None


def _reader(path: Path) -> str:
    literal = "'" + str(path).replace("'", "''") + "'"
    name = path.name.lower()
    if name.endswith(".parquet"):
        return f"read_parquet({literal})"
    if name.endswith((".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz")):
        return f"read_json_auto({literal}, format='auto')"
    if name.endswith((".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")):
        return f"read_csv({literal}, all_varchar=true, header=true)"
    raise UsageError(f"{path}: unknown table file type (use .csv, .tsv, .json, .ndjson, .parquet)")


def load_tables(con: Any, paths: list[Path]) -> dict[str, str]:
    """Load ``paths`` into temp tables ``raw_<role>`` (union by name per role); role -> table."""
    by_role: dict[str, list[str]] = {}
    for path in paths:
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        reader = _reader(path)
        try:
            columns = [
                str(r[0]) for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
            ]
        except Exception as exc:
            raise CatalogError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc
        role = detect_role(columns)
        if role is None:
            raise UsageError(
                f"{path}: cannot tell which HTAN table this is from its columns "
                f"({', '.join(columns[:8])}…)"
            )
        by_role.setdefault(role, []).append(reader)
    tables: dict[str, str] = {}
    for role, expected in ROLE_COLUMNS.items():
        table = f"raw_{role}"
        readers = by_role.get(role)
        if readers:
            union = " UNION ALL BY NAME ".join(f"SELECT * FROM {r}" for r in readers)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {union}")
            have = {str(r[0]).lower() for r in con.execute(f"DESCRIBE {table}").fetchall()}
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (_empty VARCHAR)")
            have = {"_empty"}
        for column in expected:
            if column.lower() not in have:
                kind = (
                    "STRUCT(attributeName VARCHAR, attributeValue VARCHAR)[]"
                    if column == "channel_attributes"
                    else "VARCHAR"
                )
                con.execute(f'ALTER TABLE {table} ADD COLUMN "{column}" {kind}')
        tables[role] = table
    _long_channels(con, tables)
    return tables


def _long_channels(con: Any, tables: dict[str, str]) -> None:
    """Channel rows already in long form (attributeName/attributeValue) need no UNNEST."""
    cols = {str(r[0]).lower() for r in con.execute("DESCRIBE raw_channels").fetchall()}
    if {"attributename", "attributevalue"} <= cols:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW raw_channels_long AS SELECT Channel_Metadata_Filename, "
            "lineNum, attributeName, attributeValue FROM raw_channels"
        )
        tables["channels_long"] = "raw_channels_long"


def run_queries(con: Any, tables: dict[str, str]) -> dict[str, str]:
    """Run every build query (BigQuery text transpiled to DuckDB) into temp tables."""
    results: dict[str, str] = {}
    for name, query in QUERIES.items():
        target = f"result_{name}"
        if name == "channels" and "channels_long" in tables:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {target} AS SELECT * FROM raw_channels_long")
        else:
            sql = render(query, {r: tables[r] for r in _QUERY_ROLES[name]}, dialect="duckdb")
            con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS {sql}")
        results[name] = target
    return results


def build_from_files(home: DataHome, paths: list[Path]) -> dict[str, Any]:
    """Replace the catalog in ``home`` with the tables exported in ``paths``."""
    if not paths:
        raise UsageError("give at least one table file")
    import duckdb

    started = time.perf_counter()
    with Catalog.open(home) as catalog:
        con = catalog.connection
        before = _rows_in(con, "files"), catalog.get_meta("source")
        tables = load_tables(con, paths)
        try:
            results = run_queries(con, tables)
            counts = finish_build(
                catalog, results, source="files: " + ", ".join(p.name for p in paths)[:500]
            )
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0]
            raise CatalogError(
                f"cannot build from these files: {first}",
                hint="check the columns hold what ISB-CGC's tables hold (strings for ids/URIs)",
            ) from exc
        hints = build_hints(con, tables, counts)
    if before[0]:
        # A build replaces the whole catalog (a demo too): say so, it is easy to miss.
        hints.append(
            f"this replaced the previous catalog ({before[0]:,} files from {before[1]!r}); "
            "`htan-cds catalog export DIR` before a build keeps a copy"
        )
    return {**counts, "hints": hints, "seconds": round(time.perf_counter() - started, 3)}


def _rows_in(con: Any, table: str, where: str = "") -> int:
    row = con.execute(f"SELECT count(*) FROM {table} {where}").fetchone()
    return int(row[0]) if row else 0


def build_hints(con: Any, tables: dict[str, str], counts: dict[str, int]) -> list[str]:
    """What a user needs to know when a build from exports came out empty or partial: which
    table was missing or matched nothing (one sentence each, naming the ISB-CGC table)."""
    hints: list[str] = []
    map_rows = _rows_in(con, tables["drs_map"])
    image_rows = _rows_in(con, tables["imaging"])
    if counts["files"] == 0:
        if map_rows == 0:
            given = ", ".join(role for role in tables if _rows_in(con, tables[role])) or "none"
            hints.append(
                "no DRS map among these files (tables recognised: "
                f"{given}): catalog files come from a table with a drs_uri column — ISB-CGC's "
                "gc_drs_map_current or cds_drs_map_rN, or a manifest with name,drs_uri columns; "
                "add one to --from-files"
            )
        else:
            hints.append(f"the DRS map's {map_rows:,} rows have no drs_uri value")
    if counts["files"] and image_rows and counts["imaging"] == 0:
        hints.append(
            f"{image_rows:,} imaging metadata rows matched no file of the DRS map (joined on "
            "entityId, else on the file's base name): is the DRS map from the same release?"
        )
    channel_rows = _rows_in(con, tables["channels"])
    if counts["imaging"] and channel_rows and counts["channels"] == 0:
        hints.append(
            f"{channel_rows:,} channel metadata rows matched no image "
            "(joined on Channel_Metadata_Filename)"
        )
    if counts["files"]:
        unknown = _rows_in(con, "files", "WHERE size IS NULL")
        if unknown:
            hints.append(
                f"{unknown:,} of {counts['files']:,} files have no size in these exports (a DRS "
                "map carries none; imaging metadata's File_Size gives it): shown as unknown"
            )
    return hints
