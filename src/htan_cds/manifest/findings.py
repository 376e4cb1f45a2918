"""Findings: the codes a manifest check reports (severity, fixability, meaning) and the report.

``CODES`` is the table docs/manifests.md shows; :func:`limit_findings` carries CGC's documented
import limits and the CDS portal's cart size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from htan_cds.manifest.row import Finding
from htan_cds.manifest.uris import UriStatus

# CGC's documented import limits and the CDS portal cart size.
CGC_ITEMS_PER_CALL = 100
CGC_FILES_PER_WINDOW = 500
CGC_WINDOW_MINUTES = 5
CDS_CART_LIMIT = 1000

# code -> (severity, fixable by repair_rows, one-line meaning) — the table docs/manifests.md shows.
CODES: dict[str, tuple[str, bool, str]] = {
    "uri_missing": ("error", False, "the row has no DRS URI"),
    "uri_not_drs": ("error", False, "the URI is not a drs:// URI (http, s3, gs, …)"),
    "uri_invalid": ("error", False, "the text cannot be parsed as a DRS URI"),
    "uri_compact": ("error", True, "compact DRS URI (dg.4DFC/…), which CGC rejects"),
    "uri_unknown_prefix": ("error", False, "compact DRS URI whose prefix has no known host"),
    "uri_not_canonical": ("warning", True, "full DRS URI written unusually (case, spaces)"),
    "uri_duplicate": ("warning", True, "the same DRS object appears again"),
    "file_id_multiple_uris": (
        "warning",
        True,
        "one HTAN_Data_File_ID has several DRS URIs (--fix keeps one, --keep-all-uris all)",
    ),
    "s5cmd_line": ("warning", False, "an s5cmd manifest line that is not cp/sync of an s3:// URL"),
    "name_missing": ("warning", True, "no file name: one is derived from the DRS id"),
    "name_unsafe": ("error", True, "name is not a safe file name"),
    "name_duplicate": ("warning", True, "two different DRS URIs share one name"),
    "cgc_batch_limit": ("warning", False, "more than 100 items: several CGC API calls"),
    "cgc_rate_limit": ("warning", False, "more than 500 files: CGC imports 500 per 5 minutes"),
    "cds_cart_limit": ("warning", False, "more than 1000 files: over the CDS portal cart limit"),
    "row_shape": ("warning", False, "the row has more or fewer cells than the header"),
    "unterminated_quote": ("warning", False, "a quoted value is never closed"),
    "header_duplicate": ("warning", False, "a column name appears twice in the header"),
    "header_missing": ("warning", False, "a column with values has no header: kept as column_N"),
    "encoding_guessed": ("warning", False, "not UTF-8: read as Windows-1252 (Excel's plain CSV)"),
    "workbook_sheet": ("warning", False, "an Excel workbook of several sheets: one sheet was read"),
}

URI_CODES = {
    UriStatus.MISSING: "uri_missing",
    UriStatus.NOT_DRS: "uri_not_drs",
    UriStatus.INVALID: "uri_invalid",
    UriStatus.COMPACT: "uri_compact",
    UriStatus.UNKNOWN_PREFIX: "uri_unknown_prefix",
}


def make_finding(
    row: int | None, column: str | None, code: str, message: str, value: str | None = None
) -> Finding:
    """A finding whose severity and fixability come from :data:`CODES`."""
    severity, fixable, _ = CODES[code]
    return Finding(
        row, column, code, message, "error" if severity == "error" else "warning", fixable, value
    )


def limit_findings(rows: int) -> list[Finding]:
    """Whole-manifest warnings about CGC's and the CDS cart's size limits."""
    found: list[Finding] = []
    if rows > CGC_ITEMS_PER_CALL:
        calls = -(-rows // CGC_ITEMS_PER_CALL)
        found.append(
            make_finding(
                None,
                None,
                "cgc_batch_limit",
                f"{rows} items: CGC's import API takes at most {CGC_ITEMS_PER_CALL} per call "
                f"({calls} calls)",
            )
        )
    if rows > CGC_FILES_PER_WINDOW:
        minutes = (-(-rows // CGC_FILES_PER_WINDOW) - 1) * CGC_WINDOW_MINUTES
        found.append(
            make_finding(
                None,
                None,
                "cgc_rate_limit",
                f"{rows} files: CGC imports at most {CGC_FILES_PER_WINDOW} files per "
                f"{CGC_WINDOW_MINUTES} minutes (at least {minutes} minutes)",
            )
        )
    if rows > CDS_CART_LIMIT:
        found.append(
            make_finding(
                None,
                None,
                "cds_cart_limit",
                f"{rows} files: the CDS portal cart holds at most {CDS_CART_LIMIT}",
            )
        )
    return found


@dataclass
class CheckReport:
    """The result of checking a manifest.

    ``counts`` has the exact number of findings per code; ``findings`` keeps at most
    ``max_per_code`` of each code (all with 0), in row order, with ``truncated`` set if any
    were left out. ``delimiter`` (``","``, ``";"``, ``"\t"``; ``None`` for JSON) and
    ``blank_rows`` (rows whose cells were all empty, skipped) describe the file as read.
    """

    format: str | None
    rows: int
    findings: list[Finding]
    counts: dict[str, int]
    truncated: bool = False
    stats: dict[str, int] = field(default_factory=dict)
    delimiter: str | None = None
    blank_rows: int = 0
    encoding: str = "UTF-8"

    @property
    def errors(self) -> int:
        """Number of error findings (all of them, not only those kept)."""
        return sum(n for code, n in self.counts.items() if CODES[code][0] == "error")

    @property
    def warnings(self) -> int:
        """Number of warning findings."""
        return sum(n for code, n in self.counts.items() if CODES[code][0] == "warning")

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` form."""
        return {
            "format": self.format,
            "delimiter": self.delimiter,
            "encoding": self.encoding,
            "rows": self.rows,
            "blank_rows": self.blank_rows,
            "ok": self.ok,
            "errors": self.errors,
            "warnings": self.warnings,
            "counts": dict(sorted(self.counts.items())),
            "stats": self.stats,
            "truncated": self.truncated,
            "findings": [f.to_dict() for f in self.findings],
        }
