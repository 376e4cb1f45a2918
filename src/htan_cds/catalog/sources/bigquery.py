"""Build the catalog from ISB-CGC's public HTAN tables in BigQuery.

The queries are those of :mod:`htan_cds.catalog.queries` in BigQuery SQL, bound to
``isb-cgc-bq.HTAN.*_current`` or ``isb-cgc-bq.HTAN_versioned.*_rN``. Results come back as Arrow
tables and are loaded into the DuckDB catalog by the shared last step. Needs the optional
``google-cloud-bigquery`` package (``pip install 'htan-cds[bigquery]'``) and a billing project.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from htan_cds.catalog.queries import QUERIES, Release, bigquery_tables, render
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


class QueryClient(Protocol):
    """What the builder needs of ``google.cloud.bigquery.Client``: ``query(sql)`` whose result
    has ``to_arrow()``."""

    def query(self, sql: str) -> Any: ...


def bigquery_sql(release: str = "current") -> dict[str, str]:
    """The build queries as they are sent to BigQuery for ``release`` (name -> SQL)."""
    rel = Release.parse(release)
    return {
        name: render(
            query,
            bigquery_tables(rel, list(_QUERY_ROLES[name])),
            dialect="bigquery",
            map_center=rel.drs_map_center,
        )
        for name, query in QUERIES.items()
    }


def _client(billing_project: str) -> QueryClient:
    try:
        from google.cloud import bigquery
    except ImportError as exc:
        raise UsageError(
            "reading BigQuery needs google-cloud-bigquery",
            hint="install the optional 'bigquery' extra: pip install google-cloud-bigquery",
        ) from exc
    client: QueryClient = bigquery.Client(project=billing_project)
    return client


def build_from_bigquery(
    home: DataHome,
    *,
    billing_project: str,
    release: str = "current",
    client: QueryClient | None = None,
) -> dict[str, Any]:
    """Replace the catalog in ``home`` with ISB-CGC's HTAN tables of ``release``."""
    started = time.perf_counter()
    queries = bigquery_sql(release)
    bq = client if client is not None else _client(billing_project)
    arrow: dict[str, Any] = {}
    for name, sql in queries.items():
        try:
            arrow[name] = bq.query(sql).to_arrow()
        except Exception as exc:
            raise CatalogError(f"BigQuery query {name!r} failed: {exc}") from exc
    with Catalog.open(home) as catalog:
        con = catalog.connection
        results: dict[str, str] = {}
        for name, table in arrow.items():
            con.register(f"_bq_{name}", table)
            con.execute(f"CREATE OR REPLACE TEMP TABLE result_{name} AS SELECT * FROM _bq_{name}")
            con.unregister(f"_bq_{name}")
            results[name] = f"result_{name}"
        import duckdb

        try:
            counts = finish_build(
                catalog,
                results,
                source=f"bigquery {Release.parse(release).name} ({billing_project})",
            )
        except duckdb.Error as exc:
            raise CatalogError(
                f"cannot load the BigQuery results: {str(exc).splitlines()[0]}"
            ) from exc
        catalog.set_meta("release", Release.parse(release).name)
    return {**counts, "seconds": round(time.perf_counter() - started, 3)}
