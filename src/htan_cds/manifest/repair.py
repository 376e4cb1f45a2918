"""Repairing a manifest: full URIs, one DRS object per file, unique safe names, no row lost.

A row either comes out repaired or is dropped with a finding that says why and names the value:
a URI that cannot be made into a full DRS URI, a repeat of a DRS object already listed, or (unless
``keep_all_uris``) a second DRS URI for an ``HTAN_Data_File_ID`` already listed — the same file
would be downloaded twice. Which URI of such a file is kept: the one the catalog picks for it
(:class:`UriPreference`, e.g. the newest release) when it is in the manifest, else the first
listed. Nothing else is removed; metadata is kept untouched.

Rows go through in batches. A batch whose URIs, names and file ids are all plain and new (the
common case) is checked with a few bulk operations; the seen URIs, names and file ids live in
:class:`~htan_cds.manifest.hashindex.HashIndex` tables (~48 bytes a value, no per-row objects).
Names are compared by 64-bit hash, like URIs: a false clash among a million names has
probability ~3e-8 and would only add a ``_2``.
"""

from __future__ import annotations

import itertools
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from htan_cds.drs.prefixes import PrefixRegistry
from htan_cds.manifest.checks import FILE_ID_COLUMNS, make_finding
from htan_cds.manifest.files import file_ids_of
from htan_cds.manifest.names import (
    all_plain_names,
    fallback_from_id,
    is_safe_name,
    numbered_name,
    safe_name,
)
from htan_cds.manifest.registry import BATCH_ROWS
from htan_cds.manifest.row import Finding, ManifestRow
from htan_cds.manifest.uris import UriClassifier, UriStatus

_DROP_CODES = {
    UriStatus.MISSING: "uri_missing",
    UriStatus.NOT_DRS: "uri_not_drs",
    UriStatus.INVALID: "uri_invalid",
    UriStatus.UNKNOWN_PREFIX: "uri_unknown_prefix",
}
FIRST_RULE = "the first one listed"
# Marks a batch whose URIs are all compact and all rewritten (no per-row codes needed).
_ALL_COMPACT: list[str | None] = []


class UriPreference(Protocol):
    """Which DRS URI to keep for an HTAN file listed with several (e.g. the catalog's pick)."""

    rule: str

    def picks(self, file_ids: Sequence[str]) -> dict[str, str]:
        """The preferred full DRS URI of each file id it knows (others are left out)."""
        ...


@dataclass
class RepairResult:
    """Repaired rows plus what was done.

    ``findings`` lists every change (capped per code for huge inputs, see ``counts``) and every
    dropped row; ``dropped`` lists the dropped rows' findings alone, never capped.
    """

    rows: list[ManifestRow]
    findings: list[Finding]
    dropped: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class _Candidate:
    """A row whose URI is usable, on its way through the file-id, duplicate and name steps."""

    row: ManifestRow
    number: int
    uri: str
    uri_hash: int
    file_id: str
    file_hash: int
    rewritten: str | None = None  # "uri_compact" / "uri_not_canonical" when the URI changed


class Repairer:
    """Streaming repair: :meth:`repair` yields repaired rows; findings accumulate on the object.

    ``keep_all_uris`` keeps every DRS URI of an HTAN file id; otherwise one is kept per file id
    (``prefer``'s pick when listed, else the first) and the others are dropped and reported.
    """

    def __init__(
        self,
        *,
        registry: PrefixRegistry | None = None,
        max_per_code: int = 1000,
        keep_all_uris: bool = False,
        file_id_columns: Sequence[str] = FILE_ID_COLUMNS,
        prefer: UriPreference | None = None,
    ) -> None:
        self._classifier = UriClassifier(registry)
        self._max = max_per_code
        self._keep_all = keep_all_uris
        self._file_id_columns = tuple(file_id_columns)
        self._prefer = prefer
        # NumPy-backed tables, imported here: the CLI starts faster when nothing is repaired.
        from htan_cds.manifest.hashindex import HashIndex

        self._uris = HashIndex(second=False)  # URI hash -> row number
        self._names = HashIndex(second=False)  # name hash -> row number
        self._file_ids = HashIndex()  # file id hash -> (row number, URI hash)
        self._next_number: dict[str, int] = {}
        # file id -> rows waiting for the preferred URI to show up (released at the end).
        self._held: dict[str, list[_Candidate]] = {}
        self._picks: dict[str, str] = {}
        self.findings: list[Finding] = []
        self.dropped: list[Finding] = []
        self.counts: Counter[str] = Counter()
        self.rows_in = 0
        self.rows_out = 0

    @property
    def uri_rule(self) -> str:
        """How the kept URI of an HTAN file id with several is chosen, in words."""
        if self._keep_all:
            return "all kept (--keep-all-uris)"
        if self._prefer is not None:
            return f"{self._prefer.rule}, else {FIRST_RULE}"
        return FIRST_RULE

    def _note(self, finding: Finding) -> None:
        self.counts[finding.code] += 1
        if not self._max or self.counts[finding.code] <= self._max:
            self.findings.append(finding)

    def _drop(self, finding: Finding) -> None:
        self.counts[finding.code] += 1
        self.findings.append(finding)
        self.dropped.append(finding)

    # -- the batch pipeline ------------------------------------------------------------------

    def repair(self, rows: Iterable[ManifestRow]) -> Iterator[ManifestRow]:
        """Repaired rows, streaming; dropped rows are recorded, not yielded.

        Rows held for a preferred URI that never appeared come out at the end.
        """
        iterator = iter(rows)
        batches = iter(lambda: list(itertools.islice(iterator, BATCH_ROWS)), [])
        return itertools.chain.from_iterable(self.repair_batches(batches))

    def repair_batches(self, batches: Iterable[list[ManifestRow]]) -> Iterator[list[ManifestRow]]:
        """:meth:`repair` for rows that come in batches (no per-row generator layer)."""
        for chunk in batches:
            out = self._batch(chunk)
            if out:
                yield out
        held = self._release_held()
        if held:
            yield held

    def repair_row(self, row: ManifestRow) -> ManifestRow | None:
        """The repaired row, or ``None`` when it is dropped (its finding is in ``dropped``)."""
        out = self._batch([row])
        return out[0] if out else None

    def _batch(self, chunk: list[ManifestRow]) -> list[ManifestRow]:
        start = self.rows_in
        numbers = [r.row_number or start + i + 1 for i, r in enumerate(chunk)]
        uris = [r.drs_uri for r in chunk]
        file_ids = (
            [""] * len(chunk) if self._keep_all else file_ids_of(chunk, self._file_id_columns)
        )
        names = [r.name or "" for r in chunk]
        fulls, rewritten, done = self._plain_batch(numbers, uris, names, file_ids)
        if done:
            if rewritten is None:
                return chunk
            return [
                ManifestRow(full or "", row.name, row.metadata, row.row_number)
                for row, full in zip(chunk, fulls, strict=True)
            ]
        self.rows_in += len(chunk)
        return self._slow_batch(chunk, numbers, fulls, rewritten, file_ids)

    def repair_batch(self, rows: list[ManifestRow]) -> list[ManifestRow]:
        """One batch of rows repaired (dropped rows recorded); see :meth:`repair_batches`."""
        return self._batch(rows)

    def repair_columns(
        self, numbers: list[int], uris: list[str], names: list[str], file_ids: list[str]
    ) -> list[str] | None:
        """A batch given as columns, when no row needs more than its URI made full.

        ``numbers`` are the rows' source numbers, ``names`` hold ``""`` for no name and
        ``file_ids`` each row's HTAN file id (``""``: none; see ``files.file_ids_of``). Returns
        the repaired URI column — every row kept, names unchanged, the same findings as
        :meth:`repair_batch` — or ``None``, and then nothing was recorded: repair the batch's
        rows with :meth:`repair_batch`.
        """
        if self._keep_all:
            file_ids = [""] * len(uris)
        fulls, _, done = self._plain_batch(numbers, uris, names, file_ids)
        return cast(list[str], fulls) if done else None

    def reserve(self, rows: int) -> None:
        """Make room for about ``rows`` more rows in the seen-value tables up front."""
        for index in (self._uris, self._names, self._file_ids):
            index.reserve(len(index) + rows)

    def release_held(self) -> list[ManifestRow]:
        """Rows held for a preferred URI that never appeared (call once, after the last batch)."""
        return self._release_held()

    def _plain_batch(
        self, numbers: list[int], uris: list[str], names: list[str], file_ids: list[str]
    ) -> tuple[list[str | None], list[str | None] | None, bool]:
        """The batch's full URIs and change codes, and whether it was taken whole (every URI,
        name and file id plain and new: recorded in bulk); when not, nothing is recorded."""
        fulls, rewritten = self._full_uris(uris)
        if self._prefer is not None and not self._keep_all:
            wanted = sorted({f for f in file_ids if f and f not in self._picks})
            if wanted:
                self._picks.update(self._prefer.picks(wanted))
        if rewritten is None or rewritten is _ALL_COMPACT:
            uri_hashes = array("q", map(hash, cast(list[str], fulls)))
        else:
            uri_hashes = array("q", (hash(u) if u is not None else 0 for u in fulls))
        file_hashes = array("q", map(hash, file_ids))
        name_hashes = array("q", map(hash, names))
        only_compact = rewritten is None or rewritten is _ALL_COMPACT
        slots = self._plain_slots(uri_hashes, file_hashes, name_hashes, names, file_ids)
        if not only_compact or slots is None:
            return fulls, rewritten, False
        self.rows_in += len(uris)
        zeros = [0] * len(uris)
        uri_slots, file_slots, name_slots = slots
        self._uris.put_at(uri_slots, uri_hashes, numbers, zeros)
        self._file_ids.put_at(file_slots, file_hashes, numbers, uri_hashes)
        self._names.put_at(name_slots, name_hashes, numbers, zeros)
        self.rows_out += len(uris)
        if rewritten is not None:
            self._bulk_compact_notes(uris, numbers, fulls)
        return fulls, rewritten, True

    def _bulk_compact_notes(
        self, uris: list[str], numbers: list[int], fulls: list[str | None]
    ) -> None:
        """``uri_compact`` notes for a batch of compact URIs (messages only up to the cap)."""
        room = len(uris) if not self._max else max(self._max - self.counts["uri_compact"], 0)
        for i in range(min(room, len(uris))):
            uri = uris[i]
            message = f"{uri!r} rewritten as {fulls[i]}"
            self._note(make_finding(numbers[i], "drs_uri", "uri_compact", message, uri))
        self.counts["uri_compact"] += len(uris) - min(room, len(uris))

    def _full_uris(self, uris: list[str]) -> tuple[list[str | None], list[str | None] | None]:
        """Each URI's full form (``None``: unusable) and, when any changed, the change codes."""
        classifier = self._classifier
        if classifier.all_full(uris):
            return list(uris), None
        compact = classifier.all_compact(uris)
        if compact is not None:
            head, base = compact
            return [base + u[len(head) :] for u in uris], _ALL_COMPACT
        fulls: list[str | None] = []
        codes: list[str | None] = []
        for uri in uris:
            verdict = classifier.classify(uri)
            usable = verdict.status in (UriStatus.FULL, UriStatus.COMPACT)
            fulls.append(verdict.full if usable else None)
            if not usable or verdict.full == uri:
                codes.append(None)
            else:
                compact_form = verdict.status is UriStatus.COMPACT
                codes.append("uri_compact" if compact_form else "uri_not_canonical")
        return fulls, codes

    def _plain_slots(
        self,
        uri_hashes: array[int],
        file_hashes: array[int],
        name_hashes: array[int],
        names: list[str],
        file_ids: list[str],
    ) -> tuple[Any, Any, Any] | None:
        """Where a batch's URIs, file ids and names go when no row needs more than passing
        through (checked in bulk); ``None`` sends the batch row by row."""
        if 0 in uri_hashes or len(set(uri_hashes)) != len(uri_hashes):
            return None
        present = [h for h in file_hashes if h]
        if len(set(present)) != len(present):
            return None
        if self._picks and any(f in self._picks for f in file_ids):
            return None
        if not all_plain_names(names) or len(set(name_hashes)) != len(name_hashes):
            return None
        uri_slots = self._uris.new_slots(uri_hashes)
        if uri_slots is None:
            return None
        file_slots = self._file_ids.new_slots(file_hashes)
        if file_slots is None:
            return None
        name_slots = self._names.new_slots(name_hashes)
        if name_slots is None:
            return None
        return uri_slots, file_slots, name_slots

    def _slow_batch(
        self,
        chunk: list[ManifestRow],
        numbers: list[int],
        fulls: list[str | None],
        rewritten: list[str | None] | None,
        file_ids: list[str],
    ) -> list[ManifestRow]:
        candidates: list[_Candidate | None] = []
        for i, row in enumerate(chunk):
            full = fulls[i]
            if full is None:
                candidates.append(None)
                continue
            fid = file_ids[i]
            code = _code(rewritten, i)
            candidates.append(_Candidate(row, numbers[i], full, hash(full), fid, hash(fid), code))
        kept = [c for c in candidates if c is not None]
        self._open_views(
            [c.uri_hash for c in kept],
            [c.file_hash for c in kept],
            [hash(c.row.name or "") for c in kept],
        )
        out: list[ManifestRow] = []
        try:
            for row, number, candidate in zip(chunk, numbers, candidates, strict=True):
                if candidate is None:
                    self._drop_unusable(row, number)
                    continue
                if candidate.file_id and not self._file_id_ok(candidate):
                    continue
                fixed = self._finish(candidate)
                if fixed is not None:
                    out.append(fixed)
        finally:
            self._close_views()
        return out

    def _open_views(self, uris: list[int], file_ids: list[int], names: list[int]) -> None:
        from htan_cds.manifest.hashindex import BatchView

        self._uri_view = BatchView(self._uris, uris)
        self._fid_view = BatchView(self._file_ids, file_ids)
        self._name_view = BatchView(self._names, names)

    def _close_views(self) -> None:
        for view in (self._uri_view, self._fid_view, self._name_view):
            view.flush()

    def _drop_unusable(self, row: ManifestRow, number: int) -> None:
        verdict = self._classifier.classify(row.drs_uri)
        code = _DROP_CODES.get(verdict.status, "uri_invalid")
        uri = row.drs_uri
        if verdict.status is UriStatus.MISSING:
            what = f"name {row.name!r}" if row.name else "no name either"
            message = f"dropped: no DRS URI ({what})"
            value = row.name
        else:
            reason = verdict.reason if uri in verdict.reason else f"{uri!r}: {verdict.reason}"
            message = f"dropped: {reason}"
            value = uri
        self._drop(make_finding(number, "drs_uri", code, message, value))

    def _file_id_ok(self, candidate: _Candidate) -> bool:
        """Apply the one-URI-per-file-id rule; ``False`` when the row is dropped or held."""
        fid, number = candidate.file_id, candidate.number
        pick = self._picks.get(fid)
        if pick is not None and candidate.uri != pick:
            self._held.setdefault(fid, []).append(candidate)
            return False
        seen = self._fid_view.get(candidate.file_hash)
        if seen is not None:
            first, kept_uri = seen
            if kept_uri == candidate.uri_hash:
                return True  # the same object again: the duplicate check reports it
            rule = self._prefer.rule if pick is not None and self._prefer else FIRST_RULE
            message = (
                f"dropped {candidate.uri}: HTAN_Data_File_ID {fid!r} is already listed at row "
                f"{first} with another DRS URI (kept: {rule}; --keep-all-uris keeps both)"
            )
            self._drop(make_finding(number, "drs_uri", "file_id_multiple_uris", message, fid))
            return False
        self._fid_view.add(candidate.file_hash, number, candidate.uri_hash)
        held = self._held.pop(fid, [])
        for other in held:
            message = (
                f"dropped {other.uri}: HTAN_Data_File_ID {fid!r} is listed at row {number} with "
                f"{candidate.uri} ({self._prefer.rule if self._prefer else FIRST_RULE}; "
                "--keep-all-uris keeps both)"
            )
            self._drop(make_finding(other.number, "drs_uri", "file_id_multiple_uris", message, fid))
        return True

    def _release_held(self) -> list[ManifestRow]:
        """Rows whose file id's preferred URI never appeared: the first of each is kept."""
        held, self._held = self._held, {}
        out: list[ManifestRow] = []
        for fid, waiting in held.items():
            self._picks.pop(fid, None)
            self._open_views([], [], [])
            try:
                for candidate in waiting:
                    if self._file_id_ok(candidate):
                        fixed = self._finish(candidate)
                        if fixed is not None:
                            out.append(fixed)
            finally:
                self._close_views()
        return out

    def _finish(self, candidate: _Candidate) -> ManifestRow | None:
        """The duplicate-object check and the name repair of a row that keeps its file id."""
        number, uri, row = candidate.number, candidate.uri, candidate.row
        seen = self._uri_view.get(candidate.uri_hash)
        if seen is not None:
            message = f"dropped: {uri} is the same DRS object as row {seen[0]}"
            self._drop(make_finding(number, "drs_uri", "uri_duplicate", message, uri))
            return None
        self._uri_view.add(candidate.uri_hash, number)
        if candidate.rewritten is not None:
            message = f"{row.drs_uri!r} rewritten as {uri}"
            self._note(make_finding(number, "drs_uri", candidate.rewritten, message, row.drs_uri))
        name = self._fix_name(row.name, uri, number)
        self.rows_out += 1
        if uri == row.drs_uri and name == row.name:
            return row
        return ManifestRow(uri, name, row.metadata, row.row_number)

    def _name_owner(self, name: str) -> int | None:
        seen = self._name_view.get(hash(name))
        return seen[0] if seen is not None else None

    def _fix_name(self, name: str | None, uri: str, number: int) -> str:
        if name is None or not name.strip():
            fixed = safe_name(None, fallback_from_id(uri))
            self._note(make_finding(number, "name", "name_missing", f"{uri}: named {fixed!r}", uri))
        elif not is_safe_name(name):
            fixed = safe_name(name, fallback_from_id(uri))
            message = f"{name!r} renamed to {fixed!r}"
            self._note(make_finding(number, "name", "name_unsafe", message, name))
        else:
            fixed = name
        owner = self._name_owner(fixed)
        if owner is not None:
            wanted = fixed
            count = self._next_number.get(wanted, 2)
            candidate = numbered_name(wanted, count)
            while self._name_owner(candidate) is not None:
                count += 1
                candidate = numbered_name(wanted, count)
            self._next_number[wanted] = count + 1
            fixed = candidate
            message = f"{wanted!r} is used by row {owner}; renamed to {fixed!r}"
            self._note(make_finding(number, "name", "name_duplicate", message, wanted))
        self._name_view.add(hash(fixed), number)
        return fixed

    def result(self, rows: list[ManifestRow]) -> RepairResult:
        """Package ``rows`` (what :meth:`repair` yielded) with the findings so far."""
        findings = sorted(self.findings, key=lambda f: (f.row or 0, f.code))
        return RepairResult(rows, findings, list(self.dropped), dict(self.counts))


def _code(rewritten: list[str | None] | None, index: int) -> str | None:
    if rewritten is None:
        return None
    if rewritten is _ALL_COMPACT:
        return "uri_compact"
    return rewritten[index]


def repair_rows(
    rows: Iterable[ManifestRow],
    *,
    registry: PrefixRegistry | None = None,
    keep_all_uris: bool = False,
    prefer: UriPreference | None = None,
) -> RepairResult:
    """Repair a manifest: full hostname URIs, one URI per HTAN file, unique safe names.

    Rows that cannot be repaired (no usable DRS URI), that repeat a DRS object, or (unless
    ``keep_all_uris``) that list a second DRS URI for an HTAN file id are dropped and listed in
    ``dropped`` with the reason; every other input row is in ``rows``, in order (rows held for a
    preferred URI that never appeared come last).
    """
    repairer = Repairer(
        registry=registry, max_per_code=0, keep_all_uris=keep_all_uris, prefer=prefer
    )
    return repairer.result(list(repairer.repair(rows)))
