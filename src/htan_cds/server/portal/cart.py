"""The cart: a few filters plus explicit file ids, so it scales to any number of files.

The CDS portal's cart holds file ids and stops at 1000. Here "Add All Files" stores the filter
itself, "Add Selected" stores ids, and "Remove" stores an exclusion; the browser keeps this small
document in ``localStorage`` and the server resolves it to files with one SQL ``WHERE``. A cart
of a million files is a few hundred bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from htan_cds.catalog.filters import FileFilter, where_clause
from htan_cds.errors import UsageError
from htan_cds.server.limits import BadRequestBody, parse_json
from htan_cds.server.portal.params import filter_from_json

# Explicit ids are the only part that grows with the user's clicking; bound it generously.
MAX_CART_IDS = 200_000
MAX_CART_FILTERS = 100

if TYPE_CHECKING:
    from htan_cds.catalog import Catalog

Selection = tuple[str, list[Any]]


@dataclass(frozen=True)
class Cart:
    """What the user put in the cart: whole filters, single files, and files taken out again."""

    filters: list[FileFilter] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> Cart:
        """Parse the browser's cart: ``{"filters": [...], "ids": [...], "removed": [...]}``."""
        if isinstance(data, str | bytes):
            try:
                data = parse_json(data)
            except BadRequestBody as exc:
                raise UsageError(f"the cart: {exc.message}") from None
        if not isinstance(data, dict):
            raise UsageError("the cart must be a JSON object")
        filters = data.get("filters") or []
        if not isinstance(filters, list) or len(filters) > MAX_CART_FILTERS:
            raise UsageError(f"cart filters must be a list of at most {MAX_CART_FILTERS}")
        ids = _id_list(data.get("ids"), "ids")
        removed = _id_list(data.get("removed"), "removed")
        return cls(
            filters=[filter_from_json(f) for f in filters],
            ids=list(dict.fromkeys(ids)),
            removed=list(dict.fromkeys(removed)),
        )

    def to_json(self) -> dict[str, Any]:
        """The canonical document (sorted values), the same for carts holding the same things."""
        filters = sorted(
            ({k: sorted(v) for k, v in f.to_dict().items()} for f in self.filters),
            key=lambda d: orjson.dumps(d, option=orjson.OPT_SORT_KEYS),
        )
        return {"filters": filters, "ids": sorted(self.ids), "removed": sorted(self.removed)}

    def key(self) -> str:
        """A content hash of the canonical document: a stable name for a saved cart."""
        blob = orjson.dumps(self.to_json(), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(blob).hexdigest()[:32]

    def is_empty(self) -> bool:
        """True when nothing was ever added (removals alone select nothing)."""
        return not self.filters and not self.ids

    def where(self, catalog: Catalog | None = None) -> Selection:
        """``(sql, params)`` over table alias ``f`` selecting the files in the cart.

        With ``catalog``, each filter's values are first mapped to the catalog's spellings
        (:meth:`Catalog.resolve`), as the explorer that added them did.
        """
        alternatives: list[str] = []
        params: list[Any] = []
        for flt in self.filters:
            sql, fparams = where_clause(catalog.resolve(flt).filter if catalog else flt)
            alternatives.append(f"({sql})")
            params.extend(fparams)
        if self.ids:
            # A semi-join against the unnested list: hashing, not a per-row list scan.
            alternatives.append("f.drs_id IN (SELECT unnest(?::VARCHAR[]))")
            params.append(self.ids)
        if not alternatives:
            return "FALSE", []
        sql = "(" + " OR ".join(alternatives) + ")"
        if self.removed:
            sql += " AND f.drs_id NOT IN (SELECT unnest(?::VARCHAR[]))"
            params.append(self.removed)
        return sql, params


def _id_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UsageError(f"cart {name} must be a list of DRS ids")
    if len(value) > MAX_CART_IDS:
        raise UsageError(
            f"cart {name} holds {len(value)} ids, more than {MAX_CART_IDS}",
            hint="add files by filter (Add All Files) instead of one by one",
        )
    return list(value)
