"""The SQL behind the explorer's tables and the cart: sorted pages, totals and streams of files.

Everything takes a *selection* — ``(where_sql, params)`` over the ``files`` table aliased ``f`` —
so one code path serves a facet filter (:func:`htan_cds.catalog.filters.where_clause`) and a cart
(:meth:`Cart.where`). Rows come back as tuples and are zipped into dicts: for a page of 25 rows
that is cheaper than building DataFrames, and a manifest of a million rows streams in batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from htan_cds.catalog import Catalog
from htan_cds.server.portal.cart import Selection
from htan_cds.server.portal.params import Page

# The files' columns the portal shows or writes into manifests, in display order.
FILE_FIELDS = (
    "drs_id",
    "drs_uri",
    "name",
    "size",
    "md5",
    "sha256",
    "HTAN_Data_File_ID",
    "HTAN_Center",
    "atlas_name",
    "HTAN_Participant_ID",
    "assay",
    "level",
    "File_Format",
    "Data_Release",
    "access",
    "consent_group",
    "Tissue_or_Organ_of_Origin",
    "Primary_Diagnosis",
    "biospecimen_ids",
    "source",
)
_DRS_URI_SQL = "coalesce(f.drs_uri, 'drs://' || ?::VARCHAR || '/' || f.drs_id)"
_FILE_SELECT = ", ".join(
    f"{_DRS_URI_SQL} AS drs_uri" if name == "drs_uri" else f"f.{name}" for name in FILE_FIELDS
)
_STREAM_BATCH = 10_000


# Past this offset a page is found by sorting only (sort key, drs_id) and joining the 25 rows
# back: sorting narrow rows is several times faster than sorting whole ones.
_NARROW_FROM = 2_000


def _order(page: Page, tiebreak: str, reverse: bool = False) -> str:
    descending = page.descending != reverse
    direction = "DESC" if descending else "ASC"
    # NULLs stay last in the user's order, so they come first when the order is reversed.
    nulls = "NULLS FIRST" if reverse else "NULLS LAST"
    # The tie-breaker keeps pages stable when many rows share a sort value.
    return f"{page.sort.sql} {direction} {nulls}, {tiebreak} {'DESC' if reverse else 'ASC'}"


def _rows(cur: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    result = cur.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def summary(catalog: Catalog, selection: Selection) -> dict[str, int | None]:
    """``participants``, ``samples``, ``files`` and ``total_size`` of the selected files."""
    from htan_cds.catalog.aggregates import selection_summary

    where, params = selection
    return selection_summary(catalog, where, list(params))


def count_and_size(catalog: Catalog, selection: Selection) -> tuple[int, int]:
    """How many files are selected and their total size in bytes."""
    where, params = selection
    with catalog.cursor() as cur:
        row = cur.execute(
            f"SELECT count(*), coalesce(sum(f.size), 0) FROM files f WHERE {where}", params
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def files_page(
    catalog: Catalog, selection: Selection, page: Page, authority: str
) -> dict[str, Any]:
    """One sorted page of the selected files with the total count.

    ``authority`` names this server in the DRS URIs of files it serves (``drs_uri`` NULL).
    A page in the second half is read from the end in the reverse order, so "Last page" costs
    what "First page" does; deep pages sort narrow rows (see ``_NARROW_FROM``).
    """
    where, params = selection
    with catalog.cursor() as cur:
        total_row = cur.execute(f"SELECT count(*) FROM files f WHERE {where}", params).fetchone()
        total = int(total_row[0]) if total_row else 0
        offset, limit, reverse = page.offset, page.limit, False
        if total and offset + limit > total // 2 and offset < total:
            reverse = True
            limit = min(limit, total - offset)
            offset = max(0, total - page.offset - limit)
        # rowid breaks ties: an integer compares far faster than a drs_id string in a top-N
        # sort, and the rows of a read-only catalog keep their rowid.
        order = _order(page, "f.rowid", reverse)
        if offset < _NARROW_FROM:
            sql = (
                f"SELECT {_FILE_SELECT} FROM files f WHERE {where} "
                f"ORDER BY {order} LIMIT {limit} OFFSET {offset}"
            )
            values = [authority, *params]
        else:
            sql = (
                f"WITH k AS (SELECT f.rowid AS r FROM files f WHERE {where} ORDER BY {order} "
                f"LIMIT {limit} OFFSET {offset}) "
                f"SELECT {_FILE_SELECT} FROM files f WHERE f.rowid IN (SELECT r FROM k) "
                f"ORDER BY {order}"
            )
            values = [*params, authority]
        items = _rows(cur, sql, values)
    if reverse:
        items.reverse()
    return _page_result(total, page, items)


_ALL: Selection = ("TRUE", [])


def participants_page(
    catalog: Catalog, selection: Selection, page: Page, total: int, sized: Selection = _ALL
) -> dict[str, Any]:
    """Participants with at least one selected file, with their file count and size.

    ``total`` is the summary's participant count (the catalog answers it from its cube or memo);
    taking it rather than counting here lets DuckDB stop at the page (a top-N, no window).
    ``total_size`` adds the sizes of the files ``sized`` selects (those the caller may see).
    """
    where, params = selection
    sql = (
        "WITH m AS (SELECT f.HTAN_Participant_ID AS pid, any_value(f.atlas_name) AS atlas_name, "
        f"count(*) AS files, sum(f.size) FILTER (WHERE {sized[0]}) AS total_size "
        f"FROM files f WHERE {where} AND f.HTAN_Participant_ID IS NOT NULL GROUP BY 1) "
        "SELECT m.pid AS HTAN_Participant_ID, coalesce(p.atlas_name, m.atlas_name) AS atlas_name, "
        "p.HTAN_Center, p.Tissue_or_Organ_of_Origin, p.Primary_Diagnosis, p.Gender, "
        "p.Age_at_Diagnosis_years, m.files, m.total_size "
        "FROM m LEFT JOIN participants p ON p.HTAN_Participant_ID = m.pid "
        f"ORDER BY {_order(page, 'm.pid')} LIMIT {page.limit} OFFSET {page.offset}"
    )
    with catalog.cursor() as cur:
        items = _rows(cur, sql, [*sized[1], *params])
    return _page_result(total, page, items)


def samples_page(
    catalog: Catalog, selection: Selection, page: Page, total: int, sized: Selection = _ALL
) -> dict[str, Any]:
    """Biospecimens of the selected files, with their file count and size (as above)."""
    where, params = selection
    sql = (
        "WITH u AS (SELECT unnest(f.biospecimen_ids) AS bid, f.HTAN_Participant_ID AS pid, "
        f"CASE WHEN {sized[0]} THEN f.size END AS size FROM files f WHERE {where}), "
        "m AS (SELECT bid, any_value(pid) AS pid, count(*) AS files, "
        "sum(size) AS total_size FROM u WHERE bid IS NOT NULL GROUP BY 1) "
        "SELECT m.bid AS HTAN_Biospecimen_ID, "
        "coalesce(b.HTAN_Participant_ID, m.pid) AS HTAN_Participant_ID, b.Biospecimen_Type, "
        "b.Tissue_or_Organ_of_Origin, b.Preservation_Method, m.files, m.total_size "
        "FROM m LEFT JOIN biospecimens b ON b.HTAN_Biospecimen_ID = m.bid "
        f"ORDER BY {_order(page, 'm.bid')} LIMIT {page.limit} OFFSET {page.offset}"
    )
    with catalog.cursor() as cur:
        items = _rows(cur, sql, [*sized[1], *params])
    return _page_result(total, page, items)


def iter_files(catalog: Catalog, selection: Selection, authority: str) -> Iterator[dict[str, Any]]:
    """Every selected file (``FILE_FIELDS``), ordered by name, fetched in batches."""
    where, params = selection
    with catalog.cursor() as cur:
        result = cur.execute(
            f"SELECT {_FILE_SELECT} FROM files f WHERE {where} ORDER BY f.name, f.drs_id",
            [authority, *params],
        )
        names = [d[0] for d in result.description]
        while batch := result.fetchmany(_STREAM_BATCH):
            for row in batch:
                yield dict(zip(names, row, strict=True))


def local_drs_uri(catalog: Catalog, drs_id: str, authority: str) -> str | None:
    """The DRS URI of one file: as stored, or naming this server for files it serves."""
    with catalog.cursor() as cur:
        row = cur.execute(
            f"SELECT {_DRS_URI_SQL} FROM files f WHERE f.drs_id = ?", [authority, drs_id]
        ).fetchone()
    return str(row[0]) if row else None


def landing_overview(catalog: Catalog, sized: Selection = _ALL) -> list[dict[str, Any]]:
    """Per study (atlas): its center, participants, files and size, largest first.

    Every file is counted; ``total_size`` adds the files ``sized`` selects (the visible ones).
    """
    sql = (
        "SELECT f.atlas_name AS atlas, any_value(f.HTAN_Center) AS center, "
        "count(DISTINCT f.HTAN_Participant_ID) AS participants, count(*) AS files, "
        f"sum(f.size) FILTER (WHERE {sized[0]}) AS total_size, "
        "list(DISTINCT f.assay ORDER BY f.assay) FILTER (WHERE f.assay IS NOT NULL) AS assays "
        "FROM files f WHERE f.atlas_name IS NOT NULL GROUP BY 1 ORDER BY files DESC, atlas"
    )
    with catalog.cursor() as cur:
        return _rows(cur, sql, list(sized[1]))


def _page_result(total: int, page: Page, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "total": total,
        "offset": page.offset,
        "limit": page.limit,
        "sort": page.sort.key,
        "order": "desc" if page.descending else "asc",
        "items": items,
    }
