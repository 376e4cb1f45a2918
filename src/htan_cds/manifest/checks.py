"""Checking a manifest: every problem a row can have, as findings, in one streaming pass.

Per-row checks run as rows arrive. The cross-row checks (duplicate URI, one name for several
URIs, one ``HTAN_Data_File_ID`` for several URIs) keep only 64-bit hashes in flat arrays and the
text of values that may repeat (``crossrow.py``), and are resolved by sorting at the end, so
memory stays far below the rows themselves. Every finding names the value it is about (the URI,
the name, the file id) in its message and in ``value``.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from htan_cds.drs.prefixes import PrefixRegistry
from htan_cds.manifest.crossrow import RepeatTracker, rows_with_repeats
from htan_cds.manifest.files import rows_to_columns
from htan_cds.manifest.names import (
    all_plain_names,
    is_safe_name,
    match_plain_name,
    name_problems,
)
from htan_cds.manifest.registry import BATCH_ROWS, ColumnBatch
from htan_cds.manifest.row import Finding, ManifestRow
from htan_cds.manifest.uris import UriClassifier, UriStatus

# CGC's documented import limits and the CDS portal cart size.
CGC_ITEMS_PER_CALL = 100
CGC_FILES_PER_WINDOW = 500
CGC_WINDOW_MINUTES = 5
CDS_CART_LIMIT = 1000

FILE_ID_COLUMNS = ("HTAN_Data_File_ID", "data_file_id", "HTAN Data File ID")
_BATCH = BATCH_ROWS

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
}

_URI_CODES = {
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
        # Row numbers are only stored once a row breaks the usual 1, 2, 3… sequence.
        self._row_numbers: array[int] | None = None
        self.uris = RepeatTracker()
        self.names = RepeatTracker()
        self.file_ids = RepeatTracker()
        self._pending: list[ManifestRow] = []
        self.rows = 0
        self.compact = 0
        # s5cmd manifests (IDC series): s3:// prefixes are their URIs, and they name no files
        # (the objects under a prefix carry their own names). Set once the format is known.
        self.bucket_urls = False

    def _full(self, code: str) -> bool:
        return bool(self._max) and self._counts[code] >= self._max

    def _add(self, finding: Finding) -> None:
        self._counts[finding.code] += 1
        if not self._max or self._counts[finding.code] <= self._max:
            self._findings.append(finding)

    def add_findings(self, findings: Iterable[Finding]) -> None:
        """Merge findings found elsewhere (a reader's shape warnings) into the report."""
        for finding in findings:
            self._add(finding)

    def add(self, row: ManifestRow) -> None:
        """Check one row (rows are checked in batches; :meth:`finish` checks the rest)."""
        self._pending.append(row)
        if len(self._pending) >= _BATCH:
            self._flush()

    def add_many(self, rows: Iterable[ManifestRow]) -> None:
        """Check many rows (a list is checked as one batch)."""
        if isinstance(rows, list):
            if self._pending:
                self._flush()
            self.add_columns(rows_to_columns(rows, self._file_id_columns))
            return
        for row in rows:
            self.add(row)

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self.add_columns(rows_to_columns(batch, self._file_id_columns))

    def add_columns(self, batch: ColumnBatch) -> None:
        """Check a batch of rows given as columns (``ManifestReader.iter_columns``)."""
        # Million-row files: per-column C-level passes (bulk string scans, map over regex
        # matchers and hash) cost a fraction of a per-row method; only rows off the fast path
        # are looked at one by one.
        if self._pending:
            self._flush()
        uris, names, count = batch.uris, batch.names, len(batch.uris)
        start = self.rows
        self.rows += count
        numbers = [n or start + i + 1 for i, n in enumerate(batch.numbers)]
        if self._row_numbers is not None or numbers != list(range(start + 1, self.rows + 1)):
            for offset, number in enumerate(numbers):
                self._remember_number(start + offset, number)
        keys = uris
        classifier = self._classifier
        if classifier.all_full(uris):
            pass
        elif compact := classifier.all_compact(uris):
            head, base = compact
            cut = len(head)
            keys = [base + uri[cut:] for uri in uris]
            self._bulk_compact(uris, keys, start)
        elif None in (matches := list(map(classifier.full_matcher, uris))):
            keys = list(uris)
            for offset, match in enumerate(matches):
                if match is None:
                    row = (names[offset], batch.keys[offset])
                    keys[offset] = self._check_uri(uris[offset], numbers[offset], row)
        self.uris.add(keys)
        if not all_plain_names(names) and None in (plain := list(map(match_plain_name, names))):
            for offset, match in enumerate(plain):
                if match is None and not is_safe_name(names[offset] or None):
                    self._check_name(names[offset] or None, numbers[offset], keys[offset])
        # hash("") is 0 in CPython, which is also the "no value" marker of the trackers.
        self.names.add(names)
        self.file_ids.add(batch.keys)

    def _bulk_compact(self, uris: list[str], fulls: list[str], start: int) -> None:
        """``uri_compact`` findings for an all-compact batch (messages only up to the cap)."""
        self.compact += len(uris)
        room = len(uris) if not self._max else max(self._max - self._counts["uri_compact"], 0)
        for offset in range(min(room, len(uris))):
            message = f"compact DRS URI {uris[offset]!r}; CGC needs {fulls[offset]}"
            number = self.row_number(start + offset)
            self._add(make_finding(number, "drs_uri", "uri_compact", message, uris[offset]))
        self._counts["uri_compact"] += len(uris) - min(room, len(uris))

    def _remember_number(self, index: int, number: int) -> None:
        if self._row_numbers is None:
            self._row_numbers = array("q", range(1, index + 1))
        self._row_numbers.append(number)

    def row_number(self, index: int) -> int:
        """The source row number of the ``index``-th (0-based) row fed."""
        return index + 1 if self._row_numbers is None else self._row_numbers[index]

    def _check_uri(self, uri: str, number: int, row: tuple[str, str]) -> str:
        """Findings for a URI off the fast path; returns the key used for duplicate checks.

        ``row`` is the row's (name, file id), which name a row that has no URI.
        """
        if self.bucket_urls and uri.startswith("s3://"):
            return uri
        verdict = self._classifier.classify(uri)
        status = verdict.status
        if status is UriStatus.FULL:
            if verdict.full != uri:
                message = f"{uri!r} is written unusually; canonical: {verdict.full}"
                self._add(make_finding(number, "drs_uri", "uri_not_canonical", message, uri))
        elif status is UriStatus.COMPACT:
            self.compact += 1
            if self._full("uri_compact"):
                # Past the cap only the count matters; skip building a million messages.
                self._counts["uri_compact"] += 1
            else:
                message = f"compact DRS URI {uri!r}; CGC needs {verdict.full}"
                self._add(make_finding(number, "drs_uri", "uri_compact", message, uri))
        elif status is UriStatus.MISSING:
            name, file_id = row
            message = f"no DRS URI ({_row_label(name, file_id)})"
            value = name or file_id or None
            self._add(make_finding(number, "drs_uri", "uri_missing", message, value))
            return ""
        else:
            reason = verdict.reason
            if uri not in reason:
                reason = f"{uri!r}: {reason}"
            self._add(make_finding(number, "drs_uri", _URI_CODES[status], reason, uri))
        return verdict.full if verdict.full is not None else uri

    def _check_name(self, name: str | None, number: int, uri: str) -> None:
        if self.bucket_urls and not name:
            return
        if name is None or not name.strip():
            message = f"no file name for {uri or 'a row without DRS URI'}"
            self._add(make_finding(number, "name", "name_missing", message, uri or None))
        else:
            problems = ", ".join(name_problems(name))
            self._add(make_finding(number, "name", "name_unsafe", f"{name!r}: {problems}", name))

    def finish(
        self, format: str | None = None, *, delimiter: str | None = None, blank_rows: int = 0
    ) -> CheckReport:
        """Run the cross-row checks and the size limits; return the report in row order."""
        self._flush()
        stats = _cross_row(self)
        for finding in limit_findings(self.rows):
            self._add(finding)
        stats["compact_uris"] = self.compact
        stats["blank_rows"] = blank_rows
        findings = sorted(self._findings, key=lambda f: (f.row or 0, f.code))
        truncated = len(findings) < sum(self._counts.values())
        return CheckReport(
            format,
            self.rows,
            findings,
            dict(self._counts),
            truncated,
            stats,
            delimiter,
            blank_rows,
        )


def _row_label(name: str, file_id: str) -> str:
    if name:
        return f"name {name!r}"
    if file_id:
        return f"HTAN_Data_File_ID {file_id!r}"
    return "no name or file id either"


def _quoted(value: str | None) -> str:
    return repr(value) if value is not None else "(value not kept: too many repeats)"


def _cross_row(checker: Checker) -> dict[str, int]:
    """Duplicate URIs and keys (name, file id) with several URIs, from the hash arrays.

    Sorting a copy of one hash array finds the few values that repeat; only rows holding such a
    value are then looked at one by one. Peak extra memory is ~16 bytes a row.
    """
    stats = {"duplicate_uris": 0, "shared_names": 0, "file_ids_with_several_uris": 0}
    if not checker.rows:
        return stats
    import numpy as np  # deferred: only a finished check needs it

    uris = np.frombuffer(checker.uris.hashes, dtype=np.int64)
    first_seen: dict[int, int] = {}
    for index in rows_with_repeats(uris):
        value = int(uris[index])
        if value in first_seen:
            stats["duplicate_uris"] += 1
            text = checker.uris.sieve.text(value)
            message = (
                f"{_quoted(text)} is the same DRS object as row "
                f"{checker.row_number(first_seen[value])}"
            )
            number = checker.row_number(index)
            checker._add(make_finding(number, "drs_uri", "uri_duplicate", message, text))
        else:
            first_seen[value] = index
    for tracker, column, code, stat, template in (
        (
            checker.names,
            "name",
            "name_duplicate",
            "shared_names",
            "name {value} is also used by row {first} for another DRS URI",
        ),
        (
            checker.file_ids,
            "HTAN_Data_File_ID",
            "file_id_multiple_uris",
            "file_ids_with_several_uris",
            "HTAN_Data_File_ID {value} also at row {first} with another DRS URI",
        ),
    ):
        keys = np.frombuffer(tracker.hashes, dtype=np.int64)
        # key -> (first row index, its URI hash, already counted)
        groups: dict[int, tuple[int, int, bool]] = {}
        for index in rows_with_repeats(keys):
            key, uri = int(keys[index]), int(uris[index])
            seen = groups.get(key)
            if seen is None:
                groups[key] = (index, uri, False)
            elif seen[1] != uri:
                text = tracker.sieve.text(key)
                first = checker.row_number(seen[0])
                message = template.format(value=_quoted(text), first=first)
                checker._add(make_finding(checker.row_number(index), column, code, message, text))
                if not seen[2]:
                    stats[stat] += 1
                    groups[key] = (seen[0], seen[1], True)
        del keys
    del uris
    return stats


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
