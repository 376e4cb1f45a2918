"""Citations of the collections behind a selection of files, from the catalog (no network).

IDC asks users to cite each collection they use by its DOI (``collections_index.sources``:
``source_doi``, ``citation``, ``license``); ``catalog build --from-idc`` stores them in the
``collections`` table. :func:`collect` gives one entry per (collection, DOI) behind the matching
files, each DOI once; files without a recorded collection (CDS, local) are counted apart.
Renderers: ``text`` (IDC's APA citation plus DOI and licence), ``bibtex`` (``@misc``) and
``csl-json`` (CSL 1.0.2 items of type ``dataset``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from htan_cds.catalog.filters import FileFilter, where_clause
from htan_cds.catalog.store import Catalog
from htan_cds.errors import UsageError

_CITED = """
SELECT f.collection_id, lower(coalesce(f.doi, c.doi)) AS doi_key,
       any_value(coalesce(f.doi, c.doi)) AS doi, any_value(c.title) AS title,
       any_value(c.url) AS url, any_value(c.citation) AS citation,
       any_value(c.authors) AS authors, any_value(c.year) AS year,
       any_value(c.publisher) AS publisher, any_value(coalesce(c.license, f.license)) AS license,
       any_value(c.license_url) AS license_url, any_value(c.source) AS source,
       any_value(coalesce(c.idc_release, f.idc_release)) AS idc_release,
       any_value(c.HTAN_Center) AS HTAN_Center,
       count(*) AS files, coalesce(sum(f.size), 0) AS bytes
FROM files f LEFT JOIN collections c ON c.collection_id = f.collection_id
WHERE {where} AND f.collection_id IS NOT NULL
GROUP BY ALL ORDER BY f.collection_id, doi_key
"""
_UNCITED = """
SELECT source, count(*) FROM files f WHERE {where} AND f.collection_id IS NULL GROUP BY 1
"""


def collect(catalog: Catalog, flt: FileFilter) -> dict[str, Any]:
    """``{"collections": [entry…], "uncited": {source: files}}`` for the files of ``flt``.

    An entry: ``collection_id, doi, title, url, citation, authors, year, publisher, license,
    license_url, source, idc_release, HTAN_Center, files, bytes``.
    """
    where, params = where_clause(flt)
    return collect_where(catalog, where, params)


def collect_where(catalog: Catalog, where: str, params: list[Any]) -> dict[str, Any]:
    """:func:`collect` for a ready SQL condition over table alias ``f`` (the portal's cart)."""
    with catalog.cursor() as cur:
        rows = cur.execute(_CITED.format(where=where), params)
        names = [d[0] for d in rows.description]
        entries = [dict(zip(names, r, strict=True)) for r in rows.fetchall()]
        uncited = cur.execute(_UNCITED.format(where=where), params).fetchall()
    for entry in entries:
        entry.pop("doi_key")
        entry["authors"] = list(entry["authors"] or [])
    return {"collections": entries, "uncited": {str(s): int(n) for s, n in uncited}}


def _match_keys(uri: str) -> set[str]:
    """Lower-cased catalog values one manifest URI may match: an IDC series bucket URL
    (``s3://``/``gs://bucket/<crdc_series_uuid>[/*]``) its series UUID; a DRS URI itself, its
    id (``drs://host/<id>``) and, for compact forms (``[drs://][provider/]prefix:accession``,
    ``prefix/accession``), ``prefix/accession`` and the bare accession."""
    text = uri.strip().lower()
    if text.startswith(("s3://", "gs://")):
        return {text.rstrip("*").rstrip("/").rsplit("/", 1)[-1]}
    keys = {text}
    rest = text
    if text.startswith("drs://"):
        rest = text[len("drs://") :]
        authority, slash, path = rest.partition("/")
        _, colon, port = authority.partition(":")
        if slash and (not colon or port.isdigit()):
            keys.add(path)  # drs://host[:port]/<id>, or drs://provider/prefix:accession
            rest = path
    prefix, colon, accession = rest.partition(":")
    if colon and prefix and accession and "/" not in prefix:
        keys.update({accession, f"{prefix}/{accession}"})
    elif "/" in rest:
        keys.add(rest.split("/", 1)[1])  # prefix/accession: the bare accession too
    return keys


def match_uris(catalog: Catalog, uris: list[str]) -> tuple[list[str], list[str]]:
    """Catalog ids of manifest URIs (DRS URIs in any form, compact ids, or IDC series bucket
    URLs), and the URIs that match no catalog file (in manifest order, each once)."""
    keys = {uri: _match_keys(uri) for uri in dict.fromkeys(uris)}
    wanted = sorted(set().union(*keys.values())) if keys else []
    with catalog.cursor() as cur:
        rows = cur.execute(
            "SELECT drs_id, lower(drs_id), lower(coalesce(drs_uri, '')), "
            "lower(coalesce(crdc_series_uuid, '')) FROM files f "
            "WHERE lower(crdc_series_uuid) IN (SELECT unnest(?::VARCHAR[])) "
            "OR lower(drs_uri) IN (SELECT unnest(?::VARCHAR[])) "
            "OR lower(drs_id) IN (SELECT unnest(?::VARCHAR[]))",
            [wanted, wanted, wanted],
        ).fetchall()
    found: set[str] = set()
    for _, *values in rows:
        found.update(v for v in values if v)
    unmatched = [uri for uri, k in keys.items() if not k & found]
    return [str(r[0]) for r in rows], unmatched


def drs_ids_of_uris(catalog: Catalog, uris: list[str]) -> list[str]:
    """Catalog ids of manifest URIs (see :func:`match_uris`)."""
    return match_uris(catalog, uris)[0]


def _doi_url(doi: str | None) -> str:
    return f"https://doi.org/{doi}" if doi else ""


def render_text(entries: list[dict[str, Any]]) -> str:
    """IDC's citation of each collection, then its DOI URL, licence and IDC release."""
    blocks = []
    for e in entries:
        cite = e["citation"] or f"{e['title'] or e['collection_id']} [Data set]."
        extra = [
            f"DOI: {_doi_url(e['doi'])}" if e["doi"] else "",
            f"License: {e['license']}" if e["license"] else "",
            f"IDC data release {e['idc_release']}" if e["idc_release"] else "",
        ]
        details = " · ".join(x for x in extra if x)
        blocks.append(f"{cite}\n  {details}" if details else cite)
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def _bib(text: str) -> str:
    """BibTeX-safe text: specials escaped (``&`` -> ``\\&``), braces balanced away."""
    text = text.replace("\\", "").replace("{", "").replace("}", "")
    return re.sub(r"([&%$#_])", r"\\\1", text)


def render_bibtex(entries: list[dict[str, Any]]) -> str:
    """One ``@misc`` entry per collection DOI (key ``<collection_id>_<year>``)."""
    out = []
    for e in entries:
        key = re.sub(r"[^A-Za-z0-9_]", "_", f"{e['collection_id']}_{e['year'] or 'nd'}")
        fields = [
            ("author", " and ".join(_bib(a) for a in e["authors"])),
            ("title", "{" + _bib(e["title"] or e["collection_id"]) + "}"),
            ("year", str(e["year"] or "")),
            ("publisher", _bib(e["publisher"] or "")),
            ("doi", e["doi"] or ""),
            ("url", e["url"] or _doi_url(e["doi"])),
            ("note", _bib(_note(e))),
        ]
        body = ",\n".join(f"  {k} = {{{v}}}" for k, v in fields if v)
        out.append(f"@misc{{{key},\n{body}\n}}")
    return "\n\n".join(out) + ("\n" if out else "")


def _note(e: dict[str, Any]) -> str:
    parts = [f"License: {e['license']}" if e["license"] else ""]
    if e["idc_release"]:
        parts.append(f"NCI Imaging Data Commons data release {e['idc_release']}")
    return "; ".join(p for p in parts if p)


def _person(author: str) -> dict[str, str]:
    family, _, given = author.partition(",")
    return {"family": family.strip(), "given": given.strip()} if given else {"literal": author}


def render_csl_json(entries: list[dict[str, Any]]) -> str:
    """CSL-JSON items (type ``dataset``) as a JSON array."""
    items = []
    for e in entries:
        item: dict[str, Any] = {
            "id": e["collection_id"] if e["doi"] is None else f"{e['collection_id']}:{e['doi']}",
            "type": "dataset",
            "title": e["title"] or e["collection_id"],
        }
        if e["authors"]:
            item["author"] = [_person(a) for a in e["authors"]]
        if e["year"]:
            item["issued"] = {"date-parts": [[int(e["year"])]]}
        for key, value in (
            ("publisher", e["publisher"]),
            ("DOI", e["doi"]),
            ("URL", e["url"] or _doi_url(e["doi"])),
            ("note", _note(e)),
        ):
            if value:
                item[key] = value
        items.append(item)
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


RENDERERS: dict[str, Callable[[list[dict[str, Any]]], str]] = {
    "text": render_text,
    "bibtex": render_bibtex,
    "csl-json": render_csl_json,
}


def render(entries: list[dict[str, Any]], fmt: str) -> str:
    """``entries`` in citation format ``fmt`` (``text``, ``bibtex``, ``csl-json``)."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise UsageError(
            f"unknown citation format {fmt!r}; known: {', '.join(RENDERERS)}"
        ) from None
    return renderer(entries)
