"""What one portal caller may see of the catalog: the controlled-metadata rule as SQL.

The rule (docs/security.md, "Controlled metadata"): every file is *counted* (facets, summary
and table counts, per-study figures), but what identifies one controlled file — its name,
size, checksums, DRS id and URI, HTAN ids and paths, imaging metadata, channels, thumbnail —
is shown only to a caller whose grants cover its consent group
(:func:`htan_cds.server.access.can_see`). So for such a caller:

- lists (Files tab, cart, manifests and exports) hold only visible files;
- byte totals add only visible files' sizes (a size summed down to one file is that size);
- searches on identifying fields (``text``, ``drs_ids``) match only visible files, so a count
  cannot be used to test a guessed name or id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from htan_cds.catalog import Catalog
from htan_cds.catalog.filters import FileFilter
from htan_cds.server.access import ANONYMOUS, Caller, grant_covers

Selection = tuple[str, list[Any]]

# A file's consent group as the access rule reads it (see ``file_groups``).
_GROUP_SQL = "coalesce(nullif(trim(f.consent_group), ''), 'controlled')"
_OPEN_SQL = "lower(trim(coalesce(f.access, 'open'))) = 'open'"


@dataclass(frozen=True)
class Visibility:
    """The files one caller may see, as a SQL condition over the ``files`` table alias ``f``."""

    caller: Caller
    sql: str
    params: tuple[str, ...] = ()
    everything: bool = False

    @property
    def condition(self) -> Selection:
        """``(sql, params)`` selecting the visible files."""
        return self.sql, list(self.params)

    @property
    def hidden(self) -> Selection:
        """``(sql, params)`` selecting the files counted but not shown."""
        return f"NOT ({self.sql})", list(self.params)

    @property
    def cube_columns_only(self) -> bool:
        """True when the condition reads only ``access`` (a facet-cube column)."""
        return not self.params

    def restrict(self, selection: Selection) -> Selection:
        """``selection`` narrowed to the visible files."""
        if self.everything:
            return selection
        return f"({selection[0]}) AND {self.sql}", [*selection[1], *self.params]

    def search_restriction(self, flt: FileFilter) -> Selection | None:
        """The condition searches on identifying fields must add (None when not needed)."""
        if self.everything or not (flt.text or flt.drs_ids):
            return None
        return self.condition


def consent_groups(catalog: Catalog) -> list[str]:
    """The distinct consent groups of the catalog's controlled files."""
    with catalog.cursor() as cur:
        rows = cur.execute(
            f"SELECT DISTINCT {_GROUP_SQL} FROM files f WHERE NOT ({_OPEN_SQL})"
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


def visibility_for(caller: Caller, groups: list[str]) -> Visibility:
    """The :class:`Visibility` of ``caller`` in a catalog whose controlled groups are ``groups``."""
    covered = tuple(g for g in groups if any(grant_covers(h, g) for h in caller.grants))
    if len(covered) == len(groups):
        return Visibility(caller, "TRUE", everything=True)
    if not covered:
        return Visibility(caller, f"({_OPEN_SQL})")
    marks = ", ".join("?" for _ in covered)
    return Visibility(caller, f"({_OPEN_SQL} OR {_GROUP_SQL} IN ({marks}))", covered)


__all__ = ["ANONYMOUS", "Visibility", "consent_groups", "visibility_for"]
