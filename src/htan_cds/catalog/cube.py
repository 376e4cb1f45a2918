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
    constrained = [
        (i, frozenset(normalise_value(facet, v) for v in getattr(flt, facet)))
        for i, facet in enumerate(facets)
        if getattr(flt, facet)
    ]
    everywhere = range(len(facets))
    counts: list[dict[str, int]] = [{} for _ in facets]
    for row in rows:
        miss = -1
        for i, allowed in constrained:
            if row[i] not in allowed:
                if miss >= 0:
                    break  # fails two constraints: counts for no facet
                miss = i
        else:
            n = row[-1]
            # Failing one constraint, the row counts for that facet only (its own constraint
            # is the one a facet's counts ignore); failing none, for every facet.
            for i in (miss,) if miss >= 0 else everywhere:
                value = row[i]
                if value is not None:
                    counts[i][value] = counts[i].get(value, 0) + n
    return {
        facet: sorted(counts[i].items(), key=lambda item: (-item[1], item[0]))
        for i, facet in enumerate(facets)
    }


def facet_values(rows: Sequence[CubeRow], facet: str) -> list[str]:
    """The non-NULL values of ``facet`` in the cube, most files first then by value."""
    index = list(FACET_COLUMNS).index(facet)
    counts: dict[str, int] = {}
    for row in rows:
        value = row[index]
        if value is not None:
            counts[value] = counts.get(value, 0) + row[-1]
    return [v for v, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
