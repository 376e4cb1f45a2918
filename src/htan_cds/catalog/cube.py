"""Facet counts from the facet cube's rows, in memory.

The cube (``facet_cube``: file counts per combination of facet values, hundreds to a few
thousand rows) cannot change while a catalog is open read-only, so such a catalog reads it
once and answers every facet-only filter from those rows: a DuckDB query of the cube costs
20-30 ms of planning and threads for a few hundred rows, this a fraction of a millisecond.
The rule is the one of :meth:`CatalogAggregates.facets` (the SQL path, kept for writable
catalogs and restricted queries): a facet's counts apply every *other* constraint of the
filter, values are matched exactly (SQL ``IN``: NULL matches nothing) and NULL values are not
listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from htan_cds.catalog.filters import FACET_COLUMNS, FileFilter, normalise_value

CubeRow = tuple[Any, ...]  # the facet columns in FACET_COLUMNS order, then n


def cube_sql() -> str:
    """The query reading the cube rows :func:`count_facets` takes."""
    columns = ", ".join(f"CAST({c} AS VARCHAR)" for c in FACET_COLUMNS.values())
    return f"SELECT {columns}, n FROM facet_cube"


def count_facets(rows: Sequence[CubeRow], flt: FileFilter) -> dict[str, list[tuple[str, int]]]:
    """``{facet: [(value, files), …]}``, most files first then by value, for ``flt``'s facet
    constraints (the caller makes sure ``flt`` constrains nothing else)."""
    facets = list(FACET_COLUMNS)
    wanted: list[frozenset[str] | None] = []
    for facet in facets:
        values = getattr(flt, facet)
        wanted.append(frozenset(normalise_value(facet, v) for v in values) if values else None)
    counts: list[dict[str, int]] = [{} for _ in facets]
    for row in rows:
        misses = [
            i for i, allowed in enumerate(wanted) if allowed is not None and row[i] not in allowed
        ]
        if len(misses) > 1:
            continue  # fails two constraints: counts for no facet
        n = int(row[-1])
        for i in misses or range(len(facets)):
            value = row[i]
            if value is not None:
                counts[i][value] = counts[i].get(value, 0) + n
    return {
        facet: sorted(counts[i].items(), key=lambda item: (-item[1], item[0]))
        for i, facet in enumerate(facets)
    }
