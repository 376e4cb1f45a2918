"""The one row type every manifest format is read into and written from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One file of a manifest, whatever the format it came from.

    ``drs_uri`` is kept exactly as written (compact or full); ``metadata`` holds every other
    column under its original header name; ``row_number`` is the 1-based data row in the source
    (header and blank lines not counted), so findings can point back at the file.
    """

    drs_uri: str
    name: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    row_number: int = 0

    def with_changes(self, **changes: object) -> ManifestRow:
        """A copy with some fields replaced (the row itself is immutable)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a manifest.

    ``row`` is the 1-based data row (``None`` for the manifest as a whole, e.g. size limits);
    ``fixable`` says whether :func:`htan_cds.manifest.repair_rows` can repair it; ``value`` is
    the text the finding is about (the DRS URI, file name or HTAN file id, as in the file), also
    quoted in ``message``.
    """

    row: int | None
    column: str | None
    code: str
    message: str
    severity: Severity
    fixable: bool = False
    value: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON form used by ``--json`` and conversion reports."""
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
            "fixable": self.fixable,
            "value": self.value,
        }


_new = object.__new__
_set_uri = vars(ManifestRow)["drs_uri"].__set__
_set_name = vars(ManifestRow)["name"].__set__
_set_metadata = vars(ManifestRow)["metadata"].__set__
_set_number = vars(ManifestRow)["row_number"].__set__


def make_row(drs_uri: str, name: str | None, metadata: dict[str, str], number: int) -> ManifestRow:
    """``ManifestRow(drs_uri, name, metadata, number)`` for readers' hot loops.

    Setting the slots directly skips the frozen-dataclass ``__init__`` (four guarded setattr
    calls); for a million rows that is a fifth of a second. The result is an ordinary row.
    """
    row: ManifestRow = _new(ManifestRow)
    _set_uri(row, drs_uri)
    _set_name(row, name)
    _set_metadata(row, metadata)
    _set_number(row, number)
    return row
