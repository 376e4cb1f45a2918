"""Aggregates over the catalog's files: facet counts, the summary and totals.

A mixin of :class:`htan_cds.catalog.store.Catalog`. Counts come from the facet cube when it is
current and the filter touches only facet columns, else from a scan of ``files``; a read-only
catalog cannot change while open, so answers are remembered per filter (``Catalog._memo``).
Every aggregate takes an optional ``restrict``: an extra ``(sql, params)`` condition over the
``files`` table aliased ``f`` that it also applies (the server keeps searches on identifying
fields to the files a caller may see with it; see ``htan_cds.server.portal.visibility``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from htan_cds.catalog.cube import CubeRow, count_facets, cube_sql
from htan_cds.catalog.filters import FACET_COLUMNS, FileFilter, where_clause
from htan_cds.catalog.records import Memo, filter_key

if TYPE_CHECKING:
    from htan_cds.catalog.resolve import Resolution

# ``(sql, params)``: a condition over the ``files`` table aliased ``f``.
Selection = tuple[str, list[Any]]


class CatalogAggregates:
    """Facets, summary and totals (the catalog provides ``cursor``, ``get_meta``, ``resolve``)."""

    _memo: Memo
    read_only: bool
    # (cube current?, its rows once read) for a read-only catalog; None until asked.
    _cube_state: tuple[bool, list[CubeRow] | None] | None = None

    if TYPE_CHECKING:

        def cursor(self) -> Any: ...

        def get_meta(self, key: str, default: str | None = None) -> str | None: ...

        def resolve(self, flt: FileFilter | None) -> Resolution: ...

    def facets(
        self, flt: FileFilter | None = None, restrict: Selection | None = None
    ) -> dict[str, list[tuple[str, int]]]:
        """File counts per value of each facet, most frequent first.

        A facet's counts apply every *other* constraint of ``flt`` (the usual faceted-search
        rule, so a selected facet still shows its alternatives), and ``restrict`` when given.
        """
        flt = self.resolve(flt).filter
        counted = self._memo.get(_key("facets", flt, restrict), lambda: self._facets(flt, restrict))
        return {k: list(v) for k, v in counted.items()}

    def _facets(
        self, flt: FileFilter, restrict: Selection | None
    ) -> dict[str, list[tuple[str, int]]]:
        cube = restrict is None and self._cube_usable(flt)
        rows = self.cube_rows() if cube else None
        if rows is not None:
            return count_facets(rows, flt)
        source, counter = ("facet_cube f", "sum(n)") if cube else ("files f", "count(*)")
        parts: list[str] = []
        params: list[Any] = []
        plain_where, plain_params = _restricted(where_clause(flt), restrict)
        grouping: list[str] = []
        for facet, column in FACET_COLUMNS.items():
            if getattr(flt, facet):
                where, wparams = _restricted(where_clause(flt.without(facet)), restrict)
                parts.append(
                    f"SELECT '{facet}' AS facet, CAST({column} AS VARCHAR) AS value, "
                    f"{counter} AS n FROM {source} WHERE {where} GROUP BY ALL"
                )
                params.extend(wparams)
            else:
                grouping.append(facet)
        if grouping:
            # One scan computes every unconstrained facet at once.
            sets = ", ".join(f"({FACET_COLUMNS[g]})" for g in grouping)
            case = " ".join(f"WHEN grouping({FACET_COLUMNS[g]}) = 0 THEN '{g}'" for g in grouping)
            value = " ".join(
                f"WHEN grouping({FACET_COLUMNS[g]}) = 0 THEN CAST({FACET_COLUMNS[g]} AS VARCHAR)"
                for g in grouping
            )
            parts.append(
                f"SELECT CASE {case} END AS facet, CASE {value} END AS value, {counter} AS n "
                f"FROM {source} WHERE {plain_where} GROUP BY GROUPING SETS ({sets})"
            )
            params.extend(plain_params)
        result: dict[str, list[tuple[str, int]]] = {facet: [] for facet in FACET_COLUMNS}
        with self.cursor() as cur:
            rows = cur.execute(" UNION ALL ".join(parts), params).fetchall()
        for facet, value, n in rows:
            if value is not None:
                result[str(facet)].append((str(value), int(n)))
        for values in result.values():
            values.sort(key=lambda item: (-item[1], item[0]))
        return result

    def summary(
        self, flt: FileFilter | None = None, restrict: Selection | None = None
    ) -> dict[str, int | None]:
        """``participants``, ``samples``, ``files``, ``total_size`` (None when no size is
        known) and ``files_without_size`` of the matching files (and ``restrict``)."""
        flt = self.resolve(flt).filter
        return dict(
            self._memo.get(_key("summary", flt, restrict), lambda: self._summary(flt, restrict))
        )

    def _summary(self, flt: FileFilter, restrict: Selection | None) -> dict[str, int | None]:
        if restrict is None and flt.is_empty() and self._cube_usable(flt):
            stored = self.get_meta("summary")
            if stored:
                import json

                summary: dict[str, int | None] = json.loads(stored)
                return summary
        where, params = _restricted(where_clause(flt), restrict)
        return selection_summary(self, where, params)

    def totals(
        self, flt: FileFilter, condition: Selection, *, cube_columns_only: bool = False
    ) -> tuple[int, int]:
        """``(files, known bytes)`` matching ``flt`` and ``condition`` (over alias ``f``).

        ``cube_columns_only`` says ``condition`` reads only facet columns, so the facet cube
        may answer (a scan of ``files`` otherwise).
        """
        flt = self.resolve(flt).filter

        def compute() -> tuple[int, int]:
            cube = cube_columns_only and self._cube_usable(flt)
            source, counter, size = (
                ("facet_cube f", "sum(n)", "sum(total_size)")
                if cube
                else ("files f", "count(*)", "sum(size)")
            )
            where, params = _restricted(where_clause(flt), condition)
            with self.cursor() as cur:
                row = cur.execute(
                    f"SELECT coalesce({counter}, 0), coalesce({size}, 0) "
                    f"FROM {source} WHERE {where}",
                    params,
                ).fetchone()
            return (int(row[0]), int(row[1])) if row else (0, 0)

        return self._memo.get(_key("totals", flt, condition), compute)

    def cube_current(self) -> bool:
        """True when the facet cube counts the files as they are now (asked once per open
        read-only catalog: its file cannot change while open)."""
        if self.read_only and self._cube_state is not None:
            return self._cube_state[0]
        with self.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM files").fetchone()
        current = self.get_meta("facet_cube_files") == str(row[0] if row else 0)
        if self.read_only:
            self._cube_state = (current, None)
        return current

    def cube_rows(self) -> list[CubeRow] | None:
        """The current cube's rows (:mod:`htan_cds.catalog.cube`) when the catalog is open
        read-only, read once; None for writable catalogs or a stale cube."""
        if not self.read_only or not self.cube_current():
            return None
        assert self._cube_state is not None
        current, rows = self._cube_state
        if rows is None:
            with self.cursor() as cur:
                rows = [(*r[:-1], int(r[-1])) for r in cur.execute(cube_sql()).fetchall()]
            self._cube_state = (current, rows)
        return rows

    def _cube_usable(self, flt: FileFilter) -> bool:
        """The cube answers filters on facet columns only, and only if it is current."""
        if flt.participant or flt.biospecimen or flt.text or flt.drs_ids or flt.marker:
            return False
        return self.cube_current()


def _restricted(selection: Selection, restrict: Selection | None) -> Selection:
    if restrict is None:
        return selection
    return f"({selection[0]}) AND ({restrict[0]})", [*selection[1], *restrict[1]]


def _key(kind: str, flt: FileFilter, restrict: Selection | None) -> tuple[str, ...]:
    key = filter_key(kind, flt)
    return key if restrict is None else (*key, repr(restrict))


def selection_summary(
    catalog: CatalogAggregates, where: str, params: list[Any]
) -> dict[str, int | None]:
    """``participants``, ``samples``, ``files``, ``total_size`` and ``files_without_size`` of
    the files (alias ``f``) matching ``where``; the one summary query of the CLI and the portal.

    Unknown sizes (exports without File_Size) are counted, never added as 0
    (``total_size`` None when no size is known); no files at all weigh 0 bytes.
    """
    sql = (
        "SELECT count(DISTINCT f.HTAN_Participant_ID), "
        "(SELECT count(DISTINCT b) FROM (SELECT unnest(f.biospecimen_ids) AS b "
        f"FROM files f WHERE {where})), count(*), sum(f.size), "
        "count(*) FILTER (WHERE f.size IS NULL) "
        f"FROM files f WHERE {where}"
    )
    with catalog.cursor() as cur:
        row = cur.execute(sql, [*params, *params]).fetchone()
    assert row is not None
    return {
        "participants": int(row[0]),
        "samples": int(row[1]),
        "files": int(row[2]),
        "total_size": (None if int(row[2]) else 0) if row[3] is None else int(row[3]),
        "files_without_size": int(row[4]),
    }
