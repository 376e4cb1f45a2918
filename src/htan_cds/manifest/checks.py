"""Checking a manifest: every problem a row can have, as findings, in one streaming pass.

Per-row checks run as rows arrive. The cross-row checks (duplicate URI, one name for several
URIs, one ``HTAN_Data_File_ID`` for several URIs) keep only 64-bit hashes and row numbers in
flat arrays (about 32 bytes a row) and are resolved by sorting at the end, so memory stays far
below the rows themselves. Hashes are Python's per-process string hash: two different strings
colliding among a million has probability ~3e-8, accepted for a report.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from htan_cds.drs.prefixes import PrefixRegistry
from htan_cds.manifest.names import is_safe_name, name_problems
from htan_cds.manifest.row import Finding, ManifestRow
from htan_cds.manifest.uris import UriClassifier, UriStatus

# CGC's documented import limits and the CDS portal cart size.
CGC_ITEMS_PER_CALL = 100
CGC_FILES_PER_WINDOW = 500
CGC_WINDOW_MINUTES = 5
CDS_CART_LIMIT = 1000

FILE_ID_COLUMNS = ("HTAN_Data_File_ID", "data_file_id")

# code -> (severity, fixable by repair_rows, one-line meaning) — the table docs/manifests.md shows.
CODES: dict[str, tuple[str, bool, str]] = {
    "uri_missing": ("error", False, "the row has no DRS URI"),
    "uri_not_drs": ("error", False, "the URI is not a drs:// URI (http, s3, gs, …)"),
    "uri_invalid": ("error", False, "the text cannot be parsed as a DRS URI"),
    "uri_compact": ("error", True, "compact DRS URI (dg.4DFC/…), which CGC rejects"),
    "uri_unknown_prefix": ("error", False, "compact DRS URI whose prefix has no known host"),
    "uri_not_canonical": ("warning", True, "full DRS URI written unusually (case, spaces)"),
    "uri_duplicate": ("warning", True, "the same DRS object appears again"),
    "file_id_multiple_uris": ("warning", False, "one HTAN_Data_File_ID has several DRS URIs"),
    "name_missing": ("warning", True, "no file name: one is derived from the DRS id"),
    "name_unsafe": ("error", True, "name is not a safe file name"),
    "name_duplicate": ("warning", True, "two different DRS URIs share one name"),
    "cgc_batch_limit": ("warning", False, "more than 100 items: several CGC API calls"),
    "cgc_rate_limit": ("warning", False, "more than 500 files: CGC imports 500 per 5 minutes"),
    "cds_cart_limit": ("warning", False, "more than 1000 files: over the CDS portal cart limit"),
    "row_shape": ("warning", False, "the row has more or fewer cells than the header"),
    "unterminated_quote": ("warning", False, "a quoted value is never closed"),
    "header_duplicate": ("warning", False, "a column name appears twice in the header"),
}

_URI_CODES = {
    UriStatus.MISSING: "uri_missing",
    UriStatus.NOT_DRS: "uri_not_drs",
    UriStatus.INVALID: "uri_invalid",
    UriStatus.COMPACT: "uri_compact",
    UriStatus.UNKNOWN_PREFIX: "uri_unknown_prefix",
}


def make_finding(row: int | None, column: str | None, code: str, message: str) -> Finding:
    """A finding whose severity and fixability come from :data:`CODES`."""
    severity, fixable, _ = CODES[code]
    return Finding(
        row, column, code, message, "error" if severity == "error" else "warning", fixable
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
    were left out.
    """

    format: str | None
    rows: int
    findings: list[Finding]
    counts: dict[str, int]
    truncated: bool = False
    stats: dict[str, int] = field(default_factory=dict)

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
            "rows": self.rows,
            "ok": self.ok,
            "errors": self.errors,
            "warnings": self.warnings,
            "counts": dict(sorted(self.counts.items())),
            "stats": self.stats,
            "truncated": self.truncated,
            "findings": [f.to_dict() for f in self.findings],
        }


class Checker:
    """Feed rows one by one with :meth:`add`; :meth:`finish` returns the :class:`CheckReport`."""

    def __init__(
        self,
        *,
        registry: PrefixRegistry | None = None,
        max_per_code: int = 1000,
        file_id_columns: Sequence[str] = FILE_ID_COLUMNS,
    ) -> None:
        self._classifier = UriClassifier(registry)
        self._max = max_per_code
        self._file_id_columns = tuple(file_id_columns)
        self._findings: list[Finding] = []
        self._counts: Counter[str] = Counter()
        self._rows = array("q")
        self._uris = array("q")
        self._names = array("q")
        self._file_ids = array("q")
        self.rows = 0
        self.compact = 0

    def _add(self, finding: Finding) -> None:
        self._counts[finding.code] += 1
        if not self._max or self._counts[finding.code] <= self._max:
            self._findings.append(finding)

    def add_findings(self, findings: Iterable[Finding]) -> None:
        """Merge findings found elsewhere (a reader's shape warnings) into the report."""
        for finding in findings:
            self._add(finding)

    def add(self, row: ManifestRow) -> None:
        """Check one row and remember what the cross-row checks need."""
        self.rows += 1
        number = row.row_number or self.rows
        verdict = self._classifier.classify(row.drs_uri)
        status = verdict.status
        if status is not UriStatus.FULL:
            code = _URI_CODES[status]
            if status is UriStatus.COMPACT:
                self.compact += 1
                message = f"compact DRS URI {row.drs_uri!r}; CGC needs {verdict.full}"
            else:
                message = verdict.reason
            self._add(make_finding(number, "drs_uri", code, message))
        elif verdict.full != row.drs_uri:
            self._add(
                make_finding(number, "drs_uri", "uri_not_canonical", f"written as {row.drs_uri!r}")
            )
        name = row.name
        if name is None or not name.strip():
            self._add(make_finding(number, "name", "name_missing", "no file name"))
        elif not is_safe_name(name):
            problems = ", ".join(name_problems(name))
            self._add(make_finding(number, "name", "name_unsafe", f"{name!r}: {problems}"))
        key = verdict.full if verdict.full is not None else row.drs_uri
        self._rows.append(number)
        self._uris.append(hash(key))
        self._names.append(hash(name) if name else 0)
        file_id = ""
        for column in self._file_id_columns:
            file_id = row.metadata.get(column, "")
            if file_id:
                break
        self._file_ids.append(hash(file_id) if file_id else 0)

    def finish(self, format: str | None = None) -> CheckReport:
        """Run the cross-row checks and the size limits; return the report in row order."""
        stats = _cross_row(self)
        for finding in limit_findings(self.rows):
            self._add(finding)
        stats["compact_uris"] = self.compact
        findings = sorted(self._findings, key=lambda f: (f.row or 0, f.code))
        truncated = len(findings) < sum(self._counts.values())
        return CheckReport(format, self.rows, findings, dict(self._counts), truncated, stats)


def _cross_row(checker: Checker) -> dict[str, int]:
    if not checker.rows:
        return {"duplicate_uris": 0, "shared_names": 0, "file_ids_with_several_uris": 0}
    import numpy as np  # deferred: only a finished check needs it

    rows = np.frombuffer(checker._rows, dtype=np.int64)
    uris = np.frombuffer(checker._uris, dtype=np.int64)
    names = np.frombuffer(checker._names, dtype=np.int64)
    file_ids = np.frombuffer(checker._file_ids, dtype=np.int64)

    # Duplicate URIs: every occurrence after the first of a hash.
    order = np.argsort(uris, kind="stable")
    sorted_uris = uris[order]
    starts = np.r_[True, sorted_uris[1:] != sorted_uris[:-1]]
    group_first = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
    duplicates = 0
    for idx in np.nonzero(~starts)[0]:
        duplicates += 1
        here, first = int(rows[order[idx]]), int(rows[group_first[idx]])
        checker._add(
            make_finding(here, "drs_uri", "uri_duplicate", f"same DRS object as row {first}")
        )
    shared_names = _groups_with_several_uris(
        checker, rows, names, uris, "name", "name_duplicate", "name is also used by row {first}"
    )
    several = _groups_with_several_uris(
        checker,
        rows,
        file_ids,
        uris,
        "HTAN_Data_File_ID",
        "file_id_multiple_uris",
        "HTAN_Data_File_ID also at row {first} with another DRS URI",
    )
    return {
        "duplicate_uris": duplicates,
        "shared_names": shared_names,
        "file_ids_with_several_uris": several,
    }


def _groups_with_several_uris(
    checker: Checker,
    rows: Any,
    keys: Any,
    uris: Any,
    column: str,
    code: str,
    template: str,
) -> int:
    """Report rows whose key (name, file id) was first seen with another URI; count the keys."""
    import numpy as np

    present = np.nonzero(keys != 0)[0]
    if not len(present):
        return 0
    # Sort by key, then URI, then position, so distinct URIs of one key are adjacent runs.
    order = present[np.lexsort((present, uris[present], keys[present]))]
    k, u = keys[order], uris[order]
    key_start = np.r_[True, k[1:] != k[:-1]]
    new_uri = key_start | np.r_[True, u[1:] != u[:-1]]
    first_of_key = order[np.maximum.accumulate(np.where(key_start, np.arange(len(order)), 0))]
    groups = 0
    counted: set[int] = set()
    for idx in np.nonzero(new_uri & ~key_start)[0]:
        first = int(first_of_key[idx])
        here = int(order[idx])
        # Report the later row of the pair so the first occurrence stays the reference.
        a, b = sorted((first, here))
        checker._add(make_finding(int(rows[b]), column, code, template.format(first=int(rows[a]))))
        if first not in counted:
            counted.add(first)
            groups += 1
    return groups


def check_rows(
    rows: Iterable[ManifestRow],
    *,
    format: str | None = None,
    registry: PrefixRegistry | None = None,
    max_per_code: int = 1000,
    extra_findings: Iterable[Finding] = (),
) -> CheckReport:
    """Check every row of a manifest (streaming) and return the report."""
    checker = Checker(registry=registry, max_per_code=max_per_code)
    for row in rows:
        checker.add(row)
    checker.add_findings(extra_findings)
    return checker.finish(format)
