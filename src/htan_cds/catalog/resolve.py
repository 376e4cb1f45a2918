"""Forgiving filters: map every typed facet value to the catalog's stored spellings.

``--assay he`` finds ``H&E`` files, ``--center hms`` finds ``HTAN HMS``, ``--organ "colon nos"``
finds ``Colon, NOS`` (see :mod:`htan_cds.catalog.vocabulary` for the rules). A value that matches
nothing stays in the filter (so it selects nothing, honestly) and is reported as
:class:`Unmatched` with the closest values the catalog holds, for the CLI and the portal to show.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from htan_cds.catalog.cube import facet_values as cube_facet_values
from htan_cds.catalog.filters import FACET_COLUMNS, FileFilter, channel_match_sql, normalise_value
from htan_cds.catalog.vocabulary import closest, matching_values, word_matches

if TYPE_CHECKING:
    from htan_cds.catalog.store import Catalog

# Facets whose values are matched against the catalog's spellings (access is a fixed pair).
RESOLVED_FACETS = (
    "center",
    "atlas",
    "assay",
    "organ",
    "diagnosis",
    "level",
    "release",
    "format",
    "source",
)
_MARKER_SUGGESTIONS_MAX = 5000
# ICD-O term facets: a typed word that names no term exactly finds the terms containing it.
_TERM_FACETS = ("organ", "diagnosis")


@dataclass(frozen=True)
class Unmatched:
    """A typed value no stored value answers to, with the closest ones the catalog has."""

    facet: str
    value: str
    closest: list[str]

    def to_dict(self) -> dict[str, Any]:
        """``{"facet", "value", "closest"}`` for JSON output."""
        return {"facet": self.facet, "value": self.value, "closest": list(self.closest)}

    def message(self) -> str:
        """One line: ``no assay matches 'xyz'; closest: H&E, CyCIF``."""
        what = "channel has marker" if self.facet == "marker" else f"{self.facet} matches"
        hint = f"; closest: {', '.join(self.closest)}" if self.closest else ""
        return f"no {what} {self.value!r}{hint}"


@dataclass(frozen=True)
class Resolution:
    """A filter with stored spellings, and what could not be matched."""

    filter: FileFilter
    unmatched: list[Unmatched] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"filter", "unmatched"}`` for JSON output."""
        return {
            "filter": self.filter.to_dict(),
            "unmatched": [u.to_dict() for u in self.unmatched],
        }


def needs_resolving(flt: FileFilter) -> bool:
    """True when ``flt`` has facet values or markers to look up."""
    return bool(flt.marker) or any(getattr(flt, facet) for facet in RESOLVED_FACETS)


def resolve_filter(catalog: Catalog, flt: FileFilter) -> Resolution:
    """``flt`` with every facet value replaced by the stored spellings it means.

    Exact stored values pass unchanged and first, so a filter already in stored spelling costs
    one lookup of the facet's distinct values (cached by read-only catalogs).
    """
    changes: dict[str, list[str]] = {}
    unmatched: list[Unmatched] = []
    for facet in RESOLVED_FACETS:
        typed = getattr(flt, facet)
        if not typed:
            continue
        stored = facet_values(catalog, facet)
        present = set(stored)
        chosen: list[str] = []
        for value in typed:
            normal = normalise_value(facet, value)
            if normal in present:
                chosen.append(normal)
                continue
            found = matching_values(facet, value, stored) or matching_values(facet, normal, stored)
            if not found and facet in _TERM_FACETS:
                found = word_matches(value, stored)
            if found:
                chosen.extend(found)
            else:
                chosen.append(normal)
                unmatched.append(Unmatched(facet, value, closest(value, stored)))
        changes[facet] = list(dict.fromkeys(chosen))
    for marker in flt.marker or []:
        if not _has_marker(catalog, marker):
            unmatched.append(Unmatched("marker", marker, closest(marker, marker_names(catalog))))
    return Resolution(dataclasses.replace(flt, **changes), unmatched)


def facet_values(catalog: Catalog, facet: str) -> list[str]:
    """The distinct stored values of ``facet``, most files first (facet cube when current)."""
    rows = catalog.cube_rows()
    if rows is not None:  # read-only with a current cube: from its rows, no query
        return cube_facet_values(rows, facet)
    column = FACET_COLUMNS[facet]
    source = "facet_cube" if catalog.cube_current() else "files"
    counter = "sum(n)" if source == "facet_cube" else "count(*)"
    sql = (
        f"SELECT CAST({column} AS VARCHAR) AS v FROM {source} WHERE {column} IS NOT NULL "
        f"GROUP BY v ORDER BY {counter} DESC, v"
    )
    return catalog.remembered(("facet_values", facet), lambda: _column(catalog, sql, []))


def marker_names(catalog: Catalog) -> list[str]:
    """Channel names and targets of the catalog's images, most frequent first (for hints)."""
    sql = (
        "SELECT v FROM (SELECT Channel_Name AS v FROM channels UNION ALL "
        "SELECT Target FROM channels) WHERE v IS NOT NULL AND trim(v) != '' "
        f"GROUP BY v ORDER BY count(*) DESC, v LIMIT {_MARKER_SUGGESTIONS_MAX}"
    )
    return catalog.remembered(("marker_names",), lambda: _column(catalog, sql, []))


def _has_marker(catalog: Catalog, marker: str) -> bool:
    match, params = channel_match_sql(marker)
    with catalog.cursor() as cur:
        row = cur.execute(f"SELECT EXISTS (SELECT 1 FROM channels c WHERE {match})", params)
        found = row.fetchone()
    return bool(found and found[0])


def _column(catalog: Catalog, sql: str, params: list[Any]) -> list[str]:
    with catalog.cursor() as cur:
        return [str(r[0]) for r in cur.execute(sql, params).fetchall()]


__all__ = [
    "RESOLVED_FACETS",
    "Resolution",
    "Unmatched",
    "facet_values",
    "marker_names",
    "needs_resolving",
    "resolve_filter",
]
