"""File filters: which catalog files a query means, and the SQL ``WHERE`` clause that selects them.

A :class:`FileFilter` is a set of facets, each a list of accepted values (OR within a facet,
AND across facets). Values are normalised so users can type what they see in the HTAN portal or
a shorter form: ``--level 2`` means ``Level 2``, ``--center HTAPP`` means ``HTAN HTAPP``.
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
        # Each text term must match one of the human-facing identifiers or names.
        parts.append(
            f"({alias}.name ILIKE ? OR {alias}.HTAN_Data_File_ID ILIKE ? "
            f"OR {alias}.Filename ILIKE ? OR {alias}.HTAN_Participant_ID ILIKE ? "
            f"OR {alias}.assay ILIKE ?)"
        )
        params.extend([f"%{text}%"] * 5)
    return (" AND ".join(parts) if parts else "TRUE"), params
