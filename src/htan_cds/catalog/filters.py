"""File filters: which catalog files a query means, and the SQL ``WHERE`` clause that selects them.

A :class:`FileFilter` is a set of facets, each a list of accepted values (OR within a facet,
AND across facets). Values are normalised so users can type what they see in the HTAN portal or
a shorter form: ``--level 2`` means ``Level 2``, ``--center HTAPP`` means ``HTAN HTAPP``; the
catalog then maps every spelling to the stored ones (:mod:`htan_cds.catalog.resolve`).
``marker`` selects images whose channels carry every marker given (AND, like ``text``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from htan_cds.errors import UsageError

# Facet name -> column of the ``files`` table holding it (denormalised, so counts need no join).
FACET_COLUMNS: dict[str, str] = {
    "center": "HTAN_Center",
    "atlas": "atlas_name",
    "assay": "assay",
    "organ": "Tissue_or_Organ_of_Origin",
    "diagnosis": "Primary_Diagnosis",
    "level": "level",
    "release": "Data_Release",
    "format": "File_Format",
    "access": "access",
    "source": "source",
}

# Filters that narrow the result but are not counted as facets (too many distinct values).
_ID_COLUMNS: dict[str, str] = {
    "participant": "HTAN_Participant_ID",
    "drs_ids": "drs_id",
}

_ACCESS_VALUES = ("open", "controlled")
# Stored spellings of the ``source`` facet (``catalog.store.SOURCES``), by lower-case name.
_SOURCE_VALUES = {"cds": "CDS", "idc": "IDC", "local": "local"}


@dataclass
class FileFilter:
    """Which files a query selects. ``None`` or an empty list leaves a facet unconstrained."""

    center: list[str] | None = None
    atlas: list[str] | None = None
    assay: list[str] | None = None
    organ: list[str] | None = None
    diagnosis: list[str] | None = None
    level: list[str] | None = None
    participant: list[str] | None = None
    biospecimen: list[str] | None = None
    release: list[str] | None = None
    format: list[str] | None = None
    access: list[str] | None = None
    source: list[str] | None = None
    text: list[str] | None = None
    drs_ids: list[str] | None = None
    marker: list[str] | None = None

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> FileFilter:
        """Build from a dict such as query parameters (str or list values; unknown keys refused)."""
        known = {f.name for f in fields(cls)}
        kwargs: dict[str, list[str]] = {}
        for key, value in values.items():
            if key not in known:
                raise UsageError(f"unknown filter {key!r}; known: {', '.join(sorted(known))}")
            if value is None:
                continue
            items = [value] if isinstance(value, str) else [str(v) for v in value]
            kwargs[key] = [v for v in items if v != ""]
        return cls(**kwargs)

    def to_dict(self) -> dict[str, list[str]]:
        """Only the constrained facets, for JSON output."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v}

    def without(self, facet: str) -> FileFilter:
        """A copy with ``facet`` unconstrained (facet counts ignore their own selection)."""
        return dataclasses.replace(self, **{facet: None})

    def is_empty(self) -> bool:
        """True when no facet is constrained."""
        return not self.to_dict()


def normalise_value(facet: str, value: str) -> str:
    """The stored spelling of a user-typed facet value."""
    value = value.strip()
    if facet == "level":
        if value.isdigit():
            return f"Level {value}"
        if value.lower().startswith("level"):
            return "Level " + value[5:].strip()
        return value.capitalize() if value.lower() == "auxiliary" else value
    if facet == "center" and value and not value.upper().startswith("HTAN "):
        return f"HTAN {value}"
    if facet == "access":
        low = value.lower()
        if low not in _ACCESS_VALUES:
            raise UsageError(f"access must be one of {', '.join(_ACCESS_VALUES)}, not {value!r}")
        return low
    if facet == "source":
        return _SOURCE_VALUES.get(value.lower(), value)
    return value


def where_clause(flt: FileFilter, alias: str = "f") -> tuple[str, list[Any]]:
    """``(sql, params)`` selecting the files that match ``flt`` (``TRUE`` when unconstrained)."""
    parts: list[str] = []
    params: list[Any] = []
    for facet, column in (*FACET_COLUMNS.items(), *_ID_COLUMNS.items()):
        values = getattr(flt, facet)
        if not values:
            continue
        normalised = [normalise_value(facet, v) for v in values]
        parts.append(f"{alias}.{column} IN ({', '.join('?' for _ in normalised)})")
        params.extend(normalised)
    if flt.biospecimen:
        parts.append(f"list_has_any({alias}.biospecimen_ids, ?::VARCHAR[])")
        params.append(list(flt.biospecimen))
    for text in flt.text or []:
        # Each text term must match one of the human-facing identifiers or names, or be a
        # marker of the image's channels (what imaging users search for first).
        marker_sql, marker_params = marker_clause(text, alias)
        parts.append(
            f"({alias}.name ILIKE ? OR {alias}.HTAN_Data_File_ID ILIKE ? "
            f"OR {alias}.Filename ILIKE ? OR {alias}.HTAN_Participant_ID ILIKE ? "
            f"OR {alias}.assay ILIKE ? OR {marker_sql})"
        )
        params.extend([*[f"%{text}%"] * 5, *marker_params])
    for marker in flt.marker or []:
        marker_sql, marker_params = marker_clause(marker, alias)
        parts.append(marker_sql)
        params.extend(marker_params)
    return (" AND ".join(parts) if parts else "TRUE"), params


def _marker_key_sql(column: str) -> str:
    return f"regexp_replace(lower({column}), '[^a-z0-9]', '', 'g')"


def channel_match_sql(marker: str, table: str = "c") -> tuple[str, list[Any]]:
    """``(sql, params)`` true for a ``channels`` row whose name or target is ``marker``.

    Case, spaces and punctuation are ignored (``PD-1`` is ``pd1``); a name also matches by its
    first ``_``-separated part (``DNA_1`` is a ``DNA`` channel), and a marker ending in a digit
    matches its isoforms' one-letter suffix (``CD8`` finds ``CD8A``/``CD8a``, ``CD3`` finds
    ``CD3E``) but never a longer number (``CD4`` does not find ``CD45``). A marker's synonyms
    count too (``DAPI`` finds ``DNA_1``, ``PD-L1`` finds ``CD274``; ``vocabulary.MARKER_GROUPS``).
    """
    from htan_cds.catalog.vocabulary import fold, marker_keys

    # The SQL's shape never depends on the value (values are only ever bound): a key that
    # cannot match binds an impossible value instead of dropping its clause.
    key = fold(marker) or "\x00"
    keys = marker_keys(marker) or ["\x00"]
    isoform = f"{key}[a-z]" if key[-1].isdigit() else r"[^\s\S]"
    ors: list[str] = []
    params: list[Any] = []
    for column in (f"{table}.Channel_Name", f"{table}.Target"):
        full = _marker_key_sql(column)
        first_part = f"split_part({column}, '_', 1)"
        ors.append(f"list_contains(?::VARCHAR[], {full})")
        ors.append(f"list_contains(?::VARCHAR[], {_marker_key_sql(first_part)})")
        ors.append(f"regexp_full_match({full}, ?)")
        params.extend([keys, keys, isoform])
    return "(" + " OR ".join(ors) + ")", params


def marker_clause(marker: str, alias: str = "f") -> tuple[str, list[Any]]:
    """``(sql, params)`` selecting files (alias ``alias``) with a channel that is ``marker``."""
    match, params = channel_match_sql(marker)
    return f"{alias}.drs_id IN (SELECT c.drs_id FROM channels c WHERE {match})", params
