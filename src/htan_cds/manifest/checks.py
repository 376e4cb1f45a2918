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
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from htan_cds.drs.prefixes import PrefixRegistry
from htan_cds.manifest.bulk_arrow import (
    arrow_all_compact,
    arrow_all_full,
    arrow_all_plain_names,
    arrow_to_lists,
    arrow_with_base,
)
from htan_cds.manifest.crossrow import RepeatTracker
from htan_cds.manifest.encodings import WORKBOOK
from htan_cds.manifest.files import ManifestReader, rows_to_columns
from htan_cds.manifest.findings import (
    CODES,
    URI_CODES,
    CheckReport,
    limit_findings,
    make_finding,
)
from htan_cds.manifest.names import (
    all_plain_names,
    is_safe_name,
    match_plain_name,
    name_problems,
)
from htan_cds.manifest.registry import BATCH_ROWS, AnyColumnBatch, ArrowColumnBatch, ReadContext
from htan_cds.manifest.row import Finding, ManifestRow
from htan_cds.manifest.uris import UriClassifier, UriStatus

__all__ = [
    "CODES",
    "FILE_ID_COLUMNS",
    "CheckReport",
    "Checker",
    "check_reader",
    "check_rows",
    "limit_findings",
    "make_finding",
]

FILE_ID_COLUMNS = ("HTAN_Data_File_ID", "data_file_id", "HTAN Data File ID")
_BATCH = BATCH_ROWS
_UNSET: Any = object()


def _text(value: Any) -> str:
    """A cell as text: list cells are ``str`` already, Arrow cells are scalars."""
    return value if isinstance(value, str) else str(value.as_py())


class Checker:
    """Feed rows one by one with :meth:`add`; :meth:`finish` returns the :class:`CheckReport`."""

    def __init__(
        self,
        *,
        registry: PrefixRegistry | None = None,
        max_per_code: int = 1000,
        file_id_columns: Sequence[str] = FILE_ID_COLUMNS,
        second_pass: bool = False,
    ) -> None:
        self._classifier = UriClassifier(registry)
        self._max = max_per_code
        self._file_id_columns = tuple(file_id_columns)
        self._findings: list[Finding] = []
        self._counts: Counter[str] = Counter()
        # Row numbers are only stored once a row breaks the usual 1, 2, 3… sequence.
        self._row_numbers: array[int] | None = None
        # With a second pass (a file the caller can read again, see confirm_repeats) repeats
        # are confirmed by text; without, a sieve remembers texts as rows come (crossrow.py).
        self.second_pass = second_pass
        self.uris = RepeatTracker(sieve=not second_pass)
        self.names = RepeatTracker(sieve=not second_pass)
        self.file_ids = RepeatTracker(sieve=not second_pass)
        self._confirmed = False
        self._confirming: Checker | None = None
        self._pending: list[ManifestRow] = []
        # The cross-row hash, fixed by the first batch (see crossrow.py).
        self._hasher: Any = _UNSET
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

    def add_columns(self, batch: AnyColumnBatch) -> None:
        """Check a batch of rows given as columns (``ManifestReader.iter_columns``)."""
        # Million-row files: per-column C-level passes (bulk string scans, map over regex
        # matchers and hash) cost a fraction of a per-row method; only rows off the fast path
        # are looked at one by one.
        if self._pending:
            self._flush()
        if self._hasher is _UNSET:
            self._hasher = batch.hasher
        if isinstance(batch, ArrowColumnBatch):
            if self._hasher is None:
                batch = arrow_to_lists(batch)
            else:
                self._add_arrow(batch)
                return
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
            self._bulk_compact(uris, keys, len(uris), start)
        else:
            keys = self._uri_keys(uris, names, batch.keys, numbers)
        self._track(keys, names, batch.keys)
        if not all_plain_names(names):
            self._name_checks(names, numbers, keys)

    def _add_arrow(self, batch: ArrowColumnBatch) -> None:
        """:meth:`add_columns` for Arrow arrays: the same checks, on the arrays' buffers."""
        count = len(batch)
        start = self.rows
        if not start and batch.expected_rows and not self.second_pass:
            for tracker in (self.uris, self.names, self.file_ids):
                tracker.sieve.reserve(batch.expected_rows)
        self.rows += count
        if self._row_numbers is not None or batch.first != start + 1:
            for offset in range(count):
                self._remember_number(start + offset, batch.first + offset)
        numbers = range(batch.first, batch.first + count)
        uris, classifier = batch.uris, self._classifier
        names = batch.names if batch.names is not None else [""] * count
        file_ids = batch.keys if batch.keys is not None else [""] * count
        keys: Any = uris
        if arrow_all_full(uris, classifier):
            pass
        elif compact := arrow_all_compact(uris, classifier):
            head, base = compact
            keys = arrow_with_base(uris, len(head), base)
            room = count if not self._max else max(self._max - self._counts["uri_compact"], 0)
            shown = min(room, count)
            self._bulk_compact(
                uris.slice(0, shown).to_pylist(), keys.slice(0, shown).to_pylist(), count, start
            )
        else:
            keys = self._uri_keys(uris.to_pylist(), names, file_ids, numbers)
        self._track(keys, names, file_ids)
        if batch.names is None or not arrow_all_plain_names(batch.names):
            plain = names if batch.names is None else batch.names.to_pylist()
            self._name_checks(plain, numbers, keys)

    def _uri_keys(
        self, uris: list[str], names: Any, file_ids: Any, numbers: Sequence[int]
    ) -> list[str]:
        """Each URI's key for the duplicate checks (its full form), with findings for the odd."""
        keys = list(uris)
        matches = list(map(self._classifier.full_matcher, uris))
        if None not in matches:
            return keys
        for offset, match in enumerate(matches):
            if match is None:
                row = (_text(names[offset]), _text(file_ids[offset]))
                keys[offset] = self._check_uri(uris[offset], numbers[offset], row)
        return keys

    def _track(self, keys: Any, names: Any, file_ids: Any) -> None:
        if self._confirming is not None:  # the second pass: texts, not hashes
            start = self.rows - len(keys)
            self._confirming.uris.confirm(start, keys)
            self._confirming.names.confirm(start, names)
            self._confirming.file_ids.confirm(start, file_ids)
            return
        # hash("") is 0 in CPython, which is also the "no value" marker of the trackers.
        if self._hasher is None:
            self.uris.add(keys)
            self.names.add(names)
            self.file_ids.add(file_ids)
            return
        uri_hashes, name_hashes, id_hashes = self._hasher([keys, names, file_ids])
        self.uris.add(keys, uri_hashes)
        self.names.add(names, name_hashes)
        self.file_ids.add(file_ids, id_hashes)

    def _name_checks(self, names: list[str], numbers: Sequence[int], keys: Any) -> None:
        if self._confirming is not None:
            return  # the second pass repeats no finding
        if None not in (plain := list(map(match_plain_name, names))):
            return
        for offset, match in enumerate(plain):
            if match is None and not is_safe_name(names[offset] or None):
                self._check_name(names[offset] or None, numbers[offset], _text(keys[offset]))

    def _bulk_compact(self, uris: list[str], fulls: list[str], count: int, start: int) -> None:
        """``uri_compact`` findings for an all-compact batch of ``count`` rows.

        ``uris``/``fulls`` hold at least the rows whose messages fit under the cap.
        """
        self.compact += count
        room = count if not self._max else max(self._max - self._counts["uri_compact"], 0)
        shown = min(room, count)
        for offset in range(shown):
            message = f"compact DRS URI {uris[offset]!r}; CGC needs {fulls[offset]}"
            number = self.row_number(start + offset)
            self._add(make_finding(number, "drs_uri", "uri_compact", message, uris[offset]))
        self._counts["uri_compact"] += count - shown

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
            self._add(make_finding(number, "drs_uri", URI_CODES[status], reason, uri))
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

    def needs_second_pass(self) -> bool:
        """Whether :meth:`confirm_repeats` must be given the rows again before :meth:`finish`
        (a ``second_pass`` checker that saw a repeated hash)."""
        self._flush()
        trackers = (self.uris, self.names, self.file_ids)
        return self.second_pass and not self._confirmed and any(t.repeats() for t in trackers)

    def confirm_repeats(self, batches: Iterable[AnyColumnBatch]) -> None:
        """The second pass: the same batches as the first, in the same order (the file read
        again). Keeps the text of every row whose hash repeats, so repeats are told by text."""
        shadow = Checker(
            registry=self._classifier.registry,
            max_per_code=self._max,
            file_id_columns=self._file_id_columns,
            second_pass=True,
        )
        shadow.bucket_urls = self.bucket_urls
        shadow._confirming = self
        for batch in batches:
            shadow.add_columns(batch)
        shadow._flush()
        if shadow.rows != self.rows:
            raise RuntimeError(f"second pass read {shadow.rows} rows, the first {self.rows}")
        for tracker in (self.uris, self.names, self.file_ids):
            tracker.settle()
        self._confirmed = True

    def finish(
        self,
        format: str | None = None,
        *,
        delimiter: str | None = None,
        blank_rows: int = 0,
        encoding: str = "UTF-8",
    ) -> CheckReport:
        """Run the cross-row checks and the size limits; return the report in row order."""
        self._flush()
        if self.needs_second_pass():
            raise RuntimeError("confirm_repeats() must be given the rows again before finish()")
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
            encoding,
        )

    def finish_from(self, context: ReadContext, format: str | None) -> CheckReport:
        """:meth:`finish` with a reader's context: its findings, delimiter, blank rows, encoding."""
        self.add_findings(context.findings)
        return self.finish(
            format,
            delimiter=None if context.encoding == WORKBOOK else context.delimiter,
            blank_rows=context.blank_rows,
            encoding=context.encoding,
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
    for index in checker.uris.repeats():
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
        for index in tracker.repeats():
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


def check_reader(
    reader: ManifestReader,
    *,
    registry: PrefixRegistry | None = None,
    max_per_code: int = 1000,
    tick: Callable[[], None] | None = None,
) -> CheckReport:
    """Check an open manifest as ``manifest check`` does: column batches, and for a file a
    second reading that confirms repeated values by text (``tick`` is called per batch).

    The findings of the reader (shapes, header) are merged in; the report carries its format,
    delimiter and blank rows.
    """
    again = reader.context.source is not None
    checker = Checker(registry=registry, max_per_code=max_per_code, second_pass=again)
    checker.bucket_urls = reader.format == "s5cmd"
    # Column batches skip building a row object per line: the million-row path.
    for batch in reader.iter_columns(FILE_ID_COLUMNS):
        checker.add_columns(batch)
        if tick is not None:
            tick()
    if checker.needs_second_pass():
        second = reader.reopen()
        if second is None:  # pragma: no cover - a file reader can always reopen
            raise RuntimeError("the second pass needs the file again")
        with second:
            checker.confirm_repeats(second.iter_columns(FILE_ID_COLUMNS))
    return checker.finish_from(reader.context, reader.format)


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
