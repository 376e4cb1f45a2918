"""The :class:`Catalog`: the DuckDB file in the data home and the queries others call on it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from htan_cds.catalog.aggregates import CatalogAggregates
from htan_cds.catalog.filters import FACET_COLUMNS, FileFilter, where_clause
from htan_cds.catalog.readonly import check_read_only
from htan_cds.catalog.records import (
    Memo,
    applied_version_ro,
    clean_record,
    filter_key,
    frame_of,
    limit_clause,
    sql_literal,
)
from htan_cds.catalog.schema import CURRENT_SCHEMA_VERSION, applied_version, migrate
from htan_cds.catalog.writer import USE_SQL, CatalogWriter, read_only_connection
from htan_cds.config import DataHome
from htan_cds.errors import CatalogError

if TYPE_CHECKING:
    import pandas as pd

    from htan_cds.catalog.resolve import Resolution

_T = TypeVar("_T")

DEFAULT_AUTHORITY = "127.0.0.1:8000"
LOCAL_ID_PREFIX = "dg.HCDS"

TABLES = (
    "commons_meta",
    "participants",
    "biospecimens",
    "files",
    "imaging",
    "channels",
    "file_biospecimens",
    "ingest_sources",
    "facet_cube",
    "collections",
)

# Where a file's bytes come from (the ``source`` facet): CRDC DRS objects, the Imaging Data
# Commons' public buckets, or this commons' own object store.
SOURCES = ("CDS", "IDC", "local")

_MEMO_MAX = 512

# Rows whose builder did not say where they come from: this commons serves the files without
# a DRS host, CRDC the others.
_DEFAULT_SOURCE = (
    "UPDATE files SET source = CASE WHEN drs_host IS NULL OR drs_host = '' "
    "THEN 'local' ELSE 'CDS' END WHERE source IS NULL"
)

# Pages up to this many rows are fetched in two phases (sorted ids, then rows by key).
_PAGE_TWO_PHASE_MAX = 1000

# The files' public view: drs_uri computed for files this commons serves (drs_host NULL).
_FILE_SELECT = (
    "SELECT coalesce(f.drs_uri, 'drs://' || ?::VARCHAR || '/' || f.drs_id) AS drs_uri, "
    "f.* EXCLUDE (drs_uri) FROM files f"
)


class Catalog(CatalogAggregates):
    """HTAN metadata in ``catalog.duckdb``: files, imaging, channels, participants, biospecimens.

    Open with :meth:`open`. Query methods take a :class:`FileFilter` and return pandas
    DataFrames. Methods are safe to call from several threads (each uses its own cursor).
    """

    def __init__(self, home: DataHome, con: Any, read_only: bool) -> None:
        self.home = home
        self.read_only = read_only
        self._con = con
        self._lock = threading.Lock()
        self._authority: str | None = None
        # A read-only DuckDB file cannot change while open (writers are locked out), so
        # answers can be remembered per filter.
        self._memo = Memo(enabled=read_only, size=_MEMO_MAX)
        self._columns: set[str] | None = None
        self._writer: CatalogWriter | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @classmethod
    def open(cls, home: DataHome, read_only: bool = False) -> Catalog:
        """Open (read-write: create and migrate) the catalog in ``home``."""
        import duckdb

        path = home.catalog_path
        if read_only and not path.exists():
            raise CatalogError(
                f"no catalog in {home.root}",
                hint="build one with `htan-cds demo`, `catalog build` or `ingest`",
            )
        if not read_only:
            return cls._open_writer(home)
        try:
            con = read_only_connection(path)
        except duckdb.Error as exc:
            raise CatalogError(f"cannot open the catalog {path}: {exc}") from exc
        version = applied_version_ro(con)
        if version > CURRENT_SCHEMA_VERSION:
            con.close()
            raise CatalogError(
                f"catalog {path} has schema version {version}, newer than this htan-cds "
                f"({CURRENT_SCHEMA_VERSION})",
                hint="upgrade htan-cds",
            )
        if version < CURRENT_SCHEMA_VERSION:
            # An older catalog is migrated once (a writer's copy, renamed), then reopened.
            con.close()
            cls.open(home).close()
            con = read_only_connection(path)
        return cls(home, con, True)

    @classmethod
    def _open_writer(cls, home: DataHome) -> Catalog:
        """A read-write catalog on a private copy, published on close (``catalog/writer.py``)."""
        import duckdb

        def connect(path: str) -> Any:
            try:
                return duckdb.connect(path)
            except duckdb.Error as exc:
                raise CatalogError(f"cannot open the catalog {home.catalog_path}: {exc}") from exc

        writer = CatalogWriter(home.catalog_path)
        con = writer.begin(connect)
        try:
            migrate(con)
        except BaseException:
            writer.abort(con)
            raise
        catalog = cls(home, con, False)
        catalog._writer = writer
        return catalog

    def close(self) -> None:
        """Close the DuckDB connection (further calls fail); a writer publishes its changes."""
        if self._writer is not None:
            self._writer.commit(self._con)
        else:
            self._con.close()

    def discard(self) -> None:
        """Close a read-write catalog without publishing what was written since it opened."""
        if self._writer is not None:
            self._writer.abort(self._con)
        else:
            self._con.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        # A block that fails leaves the catalog as it was (nothing half-written is published).
        if exc_type is not None:
            self.discard()
        else:
            self.close()

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A DuckDB cursor for one query (cursors let threads share the connection)."""
        cur = self._con.cursor()
        try:
            if self.read_only:
                cur.execute(USE_SQL)  # a cursor starts in the in-memory default database
            yield cur
        finally:
            cur.close()

    @property
    def connection(self) -> Any:
        """The underlying DuckDB connection (for builders; queries should use :meth:`cursor`)."""
        return self._con

    # -- commons metadata ------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """A value from ``commons_meta``."""
        with self.cursor() as cur:
            row = cur.execute("SELECT value FROM commons_meta WHERE key = ?", [key]).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a ``commons_meta`` value (read-write catalogs only)."""
        self._require_writable()
        with self.cursor() as cur:
            cur.execute("INSERT OR REPLACE INTO commons_meta VALUES (?, ?)", [key, value])
        if key == "drs_authority":
            self._authority = value

    @property
    def authority(self) -> str:
        """``host:port`` that local files' DRS URIs name (``commons_meta.drs_authority``)."""
        if self._authority is None:
            self._authority = self.get_meta("drs_authority", DEFAULT_AUTHORITY) or DEFAULT_AUTHORITY
        return self._authority

    def resolve(self, flt: FileFilter | None) -> Resolution:
        """``flt`` with typed facet values mapped to stored spellings (``he`` -> ``H&E``), and
        the values nothing matches, with the closest ones (see :mod:`~htan_cds.catalog.resolve`).
        """
        from htan_cds.catalog.resolve import Resolution, needs_resolving, resolve_filter

        flt = flt or FileFilter()
        if not needs_resolving(flt):
            return Resolution(flt)
        return self._memo.get(filter_key("resolve", flt), lambda: resolve_filter(self, flt))

    # -- queries ---------------------------------------------------------------------------
    def find(
        self,
        flt: FileFilter | None = None,
        sort: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Files matching ``flt`` (all columns of ``files`` plus the computed ``drs_uri``).

        ``columns`` narrows the result to those ``files`` columns (``drs_uri`` and ``drs_id``
        always included): a page of a large catalog is several times faster with few columns.
        """
        where, params = where_clause(self.resolve(flt).filter)
        order = self._order_by(sort, descending)
        page = limit_clause(limit, offset)
        select = _FILE_SELECT if columns is None else self._narrow_select(columns)
        with self.cursor() as cur:
            if limit is None or limit > _PAGE_TWO_PHASE_MAX:
                return frame_of(
                    cur,
                    f"{select} WHERE {where} ORDER BY {order}{page}",
                    [self.authority, *params],
                )
            # A page of a large catalog: sort narrow rows (ids only), then fetch the page's
            # rows by row id; carrying every column through the sort is several times slower.
            ids = [
                int(r[0])
                for r in cur.execute(
                    f"SELECT f.rowid FROM files f WHERE {where} ORDER BY {order}{page}", params
                ).fetchall()
            ]
            if not ids:
                return frame_of(cur, f"{select} WHERE FALSE", [self.authority])
            frame = frame_of(
                cur,
                f"{select.replace(' FROM files f', ', f.rowid AS _rowid FROM files f')} "
                "SEMI JOIN (SELECT unnest(?::BIGINT[]) AS r) p ON f.rowid = p.r",
                [self.authority, ids],
            )
        position = {rowid: i for i, rowid in enumerate(ids)}
        frame = frame.sort_values("_rowid", key=lambda s: s.map(position))
        return frame.drop(columns="_rowid").reset_index(drop=True)

    def count(self, flt: FileFilter | None = None) -> int:
        """How many files match ``flt``."""
        where, params = where_clause(self.resolve(flt).filter)
        with self.cursor() as cur:
            row = cur.execute(f"SELECT count(*) FROM files f WHERE {where}", params).fetchone()
        return int(row[0]) if row else 0

    def get_file(self, drs_id: str) -> dict[str, Any] | None:
        """One file's row (with ``drs_uri``, ``imaging`` and ``channels``) or ``None``."""
        with self.cursor() as cur:
            df = frame_of(cur, f"{_FILE_SELECT} WHERE f.drs_id = ?", [self.authority, drs_id])
            if df.empty:
                return None
            record: dict[str, Any] = clean_record(df.iloc[0].to_dict())
            img = frame_of(cur, "SELECT * FROM imaging WHERE drs_id = ?", [drs_id])
            record["imaging"] = clean_record(img.iloc[0].to_dict()) if not img.empty else None
            ch = frame_of(
                cur, "SELECT * FROM channels WHERE drs_id = ? ORDER BY channel_index", [drs_id]
            )
            record["channels"] = [clean_record(r) for r in ch.to_dict("records")]
        return record

    def participants(
        self, flt: FileFilter | None = None, limit: int | None = None, offset: int = 0
    ) -> pd.DataFrame:
        """Participants with at least one matching file (all participants when unfiltered)."""
        flt = self.resolve(flt).filter
        sql = "SELECT p.* FROM participants p"
        params: list[Any] = []
        if not flt.is_empty():
            where, params = where_clause(flt)
            sql += (
                " WHERE p.HTAN_Participant_ID IN "
                f"(SELECT HTAN_Participant_ID FROM files f WHERE {where})"
            )
        sql += " ORDER BY p.HTAN_Participant_ID" + limit_clause(limit, offset)
        with self.cursor() as cur:
            return frame_of(cur, sql, params)

    def biospecimens(
        self, flt: FileFilter | None = None, limit: int | None = None, offset: int = 0
    ) -> pd.DataFrame:
        """Biospecimens of matching files (all biospecimens when unfiltered)."""
        flt = self.resolve(flt).filter
        sql = "SELECT b.* FROM biospecimens b"
        params: list[Any] = []
        if not flt.is_empty():
            where, params = where_clause(flt)
            sql += (
                " WHERE b.HTAN_Biospecimen_ID IN (SELECT fb.HTAN_Biospecimen_ID "
                f"FROM file_biospecimens fb JOIN files f USING (drs_id) WHERE {where})"
            )
        sql += " ORDER BY b.HTAN_Biospecimen_ID" + limit_clause(limit, offset)
        with self.cursor() as cur:
            return frame_of(cur, sql, params)

    def channels(self, drs_id: str) -> pd.DataFrame:
        """The channels of one image, in order."""
        with self.cursor() as cur:
            return frame_of(
                cur, "SELECT * FROM channels WHERE drs_id = ? ORDER BY channel_index", [drs_id]
            )

    def sql(self, query: str) -> pd.DataFrame:
        """Run one read-only ``SELECT``/``WITH`` query over catalog tables (anything else raises).

        The view ``files_v`` is ``files`` with ``drs_uri`` filled in for local files.
        """
        check_read_only(query, {*TABLES, "files_v"})
        import duckdb

        with self.cursor() as cur:
            try:
                cur.execute(
                    "CREATE OR REPLACE TEMP VIEW files_v AS "
                    + _FILE_SELECT.replace("?::VARCHAR", sql_literal(self.authority))
                )
                return frame_of(cur, query)
            except duckdb.Error as exc:
                raise CatalogError(f"query failed: {str(exc).splitlines()[0]}") from exc

    def table_counts(self) -> dict[str, int]:
        """Row counts of every catalog table."""
        counts: dict[str, int] = {}
        with self.cursor() as cur:
            for table in TABLES:
                row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
                counts[table] = int(row[0]) if row else 0
        return counts

    # -- writing (builders) ----------------------------------------------------------------
    def insert_rows(self, table: str, rows: list[dict[str, Any]]) -> int:
        """Append ``rows`` (dicts keyed by column name; missing columns NULL) to ``table``."""
        if not rows:
            return 0
        import pyarrow as pa

        # from_pylist would take the columns of the first row only; use every row's keys.
        keys = list(dict.fromkeys(key for row in rows for key in row))
        return self.insert_arrow(
            table, pa.Table.from_pydict({key: [row.get(key) for row in rows] for key in keys})
        )

    def insert_arrow(self, table: str, data: Any) -> int:
        """Append an Arrow table (or anything DuckDB can scan) to ``table``, matched by name."""
        self._require_writable()
        if table not in TABLES:
            raise CatalogError(f"unknown catalog table {table!r}")
        with self.cursor() as cur:
            cur.register("_incoming", data)
            try:
                cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
            finally:
                cur.unregister("_incoming")
            if table == "files":
                cur.execute(_DEFAULT_SOURCE)
        return int(getattr(data, "num_rows", 0))

    def clear(self, tables: tuple[str, ...] = TABLES) -> None:
        """Delete every row of ``tables`` (a builder replacing the catalog's content)."""
        self._require_writable()
        with self.cursor() as cur:
            for table in tables:
                cur.execute(f"DELETE FROM {table}")

    def refresh_derived(self) -> None:
        """Rebuild derived tables (the facet cube) after the files changed."""
        self._require_writable()
        columns = ", ".join(FACET_COLUMNS.values())
        with self.cursor() as cur:
            cur.execute(_DEFAULT_SOURCE)  # builders writing files with SQL of their own
            cur.execute("DELETE FROM facet_cube")
            cur.execute(
                f"INSERT INTO facet_cube BY NAME SELECT {columns}, count(*) AS n, "
                f"sum(size) AS total_size FROM files GROUP BY ALL"
            )
            row = cur.execute("SELECT count(*) FROM files").fetchone()
        self.set_meta("facet_cube_files", str(row[0] if row else 0))
        import json

        self.set_meta("summary", "")
        self.set_meta("summary", json.dumps(self.summary()))

    def remembered(self, key: tuple[str, ...], compute: Callable[[], _T]) -> _T:
        """``compute()``, remembered under ``key`` while the catalog is open read-only."""
        return self._memo.get(key, compute)

    # -- helpers ---------------------------------------------------------------------------
    def _require_writable(self) -> None:
        if self.read_only:
            raise CatalogError("the catalog was opened read-only")

    def _order_by(self, sort: str | None, descending: bool) -> str:
        if sort is None:
            # Build order: stable for an immutable catalog and free to sort by.
            return "f.rowid"
        columns = self._file_columns()
        if sort not in columns:
            raise CatalogError(f"cannot sort by {sort!r}; columns: {', '.join(sorted(columns))}")
        direction = "DESC" if descending else "ASC"
        # The row id breaks ties so pages are stable (and, unlike a string id, costs nothing).
        return f'f."{sort}" {direction} NULLS LAST, f.rowid'

    def _narrow_select(self, columns: list[str]) -> str:
        known = self._file_columns()
        unknown = [c for c in columns if c not in known and c != "drs_uri"]
        if unknown:
            raise CatalogError(f"unknown files columns: {', '.join(unknown)}")
        wanted = [c for c in dict.fromkeys(["drs_id", *columns]) if c != "drs_uri"]
        picked = ", ".join(f'f."{c}"' for c in wanted)
        return (
            "SELECT coalesce(f.drs_uri, 'drs://' || ?::VARCHAR || '/' || f.drs_id) AS drs_uri, "
            f"{picked} FROM files f"
        )

    def _file_columns(self) -> set[str]:
        if self._columns is not None:
            return self._columns
        with self.cursor() as cur:
            rows = cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'files'"
            ).fetchall()
        self._columns = {str(r[0]) for r in rows}
        return self._columns


__all__ = [
    "DEFAULT_AUTHORITY",
    "LOCAL_ID_PREFIX",
    "SOURCES",
    "TABLES",
    "Catalog",
    "applied_version",
]
