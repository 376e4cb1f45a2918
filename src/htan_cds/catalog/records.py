"""Small helpers between DuckDB results and plain Python: frames, records, SQL fragments."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pandas as pd

_T = TypeVar("_T")


class Memo:
    """Answers remembered by key, at most ``size`` of them (oldest dropped), when enabled.

    A read-only DuckDB file cannot change while open, so a read-only catalog may remember.
    """

    def __init__(self, enabled: bool, size: int = 512) -> None:
        self.enabled = enabled
        self.size = size
        self._values: dict[tuple[str, ...], Any] = {}

    def get(self, key: tuple[str, ...], compute: Callable[[], _T]) -> _T:
        """The value remembered under ``key``, else ``compute()`` (remembered if enabled)."""
        if self.enabled and key in self._values:
            found: _T = self._values[key]
            return found
        value = compute()
        if self.enabled:
            if len(self._values) >= self.size:
                self._values.pop(next(iter(self._values)))
            self._values[key] = value
        return value

    def clear(self) -> None:
        """Forget every remembered answer (benchmarks time real queries this way)."""
        self._values.clear()


def filter_key(kind: str, flt: Any) -> tuple[str, str]:
    """A memo key for ``kind`` of a FileFilter (its constrained facets, sorted)."""
    return (kind, repr(sorted(flt.to_dict().items())))


def applied_version_ro(con: Any) -> int:
    """The schema version of a catalog opened read-only (0 when never migrated)."""
    try:
        row = con.execute("SELECT max(version) FROM schema_migrations").fetchone()
    except Exception:
        return 0
    return int(row[0]) if row and row[0] is not None else 0


def frame_of(cur: Any, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    """Run ``sql`` on a DuckDB cursor and return the result as a pandas DataFrame."""
    frame: pd.DataFrame = cur.execute(sql, params or []).df()
    return frame


def limit_clause(limit: int | None, offset: int) -> str:
    """`` LIMIT n OFFSET k`` (integers only), or '' when unbounded."""
    sql = f" LIMIT {int(limit)}" if limit is not None else ""
    return sql + (f" OFFSET {int(offset)}" if offset else "")


def sql_literal(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def clean_record(record: Mapping[Any, Any]) -> dict[str, Any]:
    """pandas/numpy values to plain Python (NaN/NaT -> None, arrays -> lists)."""
    import math

    out: dict[str, Any] = {}
    for key, value in record.items():
        if value is not None and type(value).__name__ in ("NaTType", "NAType"):
            value = None
        elif hasattr(value, "tolist"):
            value = value.tolist()
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        if isinstance(value, float) and math.isnan(value):
            value = None
        out[str(key)] = value
    return out
