"""Repairing a manifest: full URIs, unique safe names, metadata kept, every row accounted for.

A row either comes out repaired or is dropped with a finding that says why (a URI that cannot be
made into a full DRS URI, or a repeat of a DRS object already listed). Nothing else is removed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from htan_cds.drs.prefixes import PrefixRegistry
from htan_cds.manifest.checks import make_finding
from htan_cds.manifest.names import fallback_from_id, is_safe_name, numbered_name, safe_name
from htan_cds.manifest.row import Finding, ManifestRow
from htan_cds.manifest.uris import UriClassifier, UriStatus

_DROP_CODES = {
    UriStatus.MISSING: "uri_missing",
    UriStatus.NOT_DRS: "uri_not_drs",
    UriStatus.INVALID: "uri_invalid",
    UriStatus.UNKNOWN_PREFIX: "uri_unknown_prefix",
}


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


class Repairer:
    """Streaming repair: :meth:`repair` yields repaired rows; findings accumulate on the object.

    Seen URIs and names are kept exactly (as hashes of the full URI for the duplicate check), so
    memory grows with the number of rows; a conversion of millions of rows still runs, it just
    holds those sets.
    """

    def __init__(self, *, registry: PrefixRegistry | None = None, max_per_code: int = 1000) -> None:
        self._classifier = UriClassifier(registry)
        self._max = max_per_code
        self._seen_uris: dict[int, int] = {}
        self._used_names: dict[str, int] = {}
        self._next_number: dict[str, int] = {}
        self.findings: list[Finding] = []
        self.dropped: list[Finding] = []
        self.counts: Counter[str] = Counter()
        self.rows_in = 0
        self.rows_out = 0

    def _note(self, finding: Finding) -> None:
        self.counts[finding.code] += 1
        if not self._max or self.counts[finding.code] <= self._max:
            self.findings.append(finding)

    def _drop(self, finding: Finding) -> None:
        self.counts[finding.code] += 1
        self.findings.append(finding)
        self.dropped.append(finding)

    def repair_row(self, row: ManifestRow) -> ManifestRow | None:
        """The repaired row, or ``None`` when it is dropped (its finding is in ``dropped``)."""
        self.rows_in += 1
        number = row.row_number or self.rows_in
        verdict = self._classifier.classify(row.drs_uri)
        if verdict.full is None or verdict.status not in (UriStatus.FULL, UriStatus.COMPACT):
            code = _DROP_CODES.get(verdict.status, "uri_invalid")
            self._drop(make_finding(number, "drs_uri", code, f"dropped: {verdict.reason}"))
            return None
        uri = verdict.full
        key = hash(uri)
        first = self._seen_uris.get(key)
        if first is not None:
            self._drop(
                make_finding(
                    number, "drs_uri", "uri_duplicate", f"dropped: same DRS object as row {first}"
                )
            )
            return None
        self._seen_uris[key] = number
        if uri != row.drs_uri:
            code = "uri_compact" if verdict.status is UriStatus.COMPACT else "uri_not_canonical"
            self._note(make_finding(number, "drs_uri", code, f"rewritten as {uri}"))
        name = self._fix_name(row.name, uri, number)
        self.rows_out += 1
        if uri == row.drs_uri and name == row.name:
            return row
        return ManifestRow(uri, name, row.metadata, row.row_number)

    def _fix_name(self, name: str | None, uri: str, number: int) -> str:
        if name is None or not name.strip():
            fixed = safe_name(None, fallback_from_id(uri))
            self._note(make_finding(number, "name", "name_missing", f"named {fixed!r}"))
        elif not is_safe_name(name):
            fixed = safe_name(name, fallback_from_id(uri))
            self._note(
                make_finding(number, "name", "name_unsafe", f"{name!r} renamed to {fixed!r}")
            )
        else:
            fixed = name
        owner = self._used_names.get(fixed)
        if owner is not None:
            wanted = fixed
            count = self._next_number.get(wanted, 2)
            candidate = numbered_name(wanted, count)
            while candidate in self._used_names:
                count += 1
                candidate = numbered_name(wanted, count)
            self._next_number[wanted] = count + 1
            fixed = candidate
            self._note(
                make_finding(
                    number,
                    "name",
                    "name_duplicate",
                    f"{wanted!r} is used by row {owner}; renamed to {fixed!r}",
                )
            )
        self._used_names[fixed] = number
        return fixed

    def repair(self, rows: Iterable[ManifestRow]) -> Iterator[ManifestRow]:
        """Repaired rows, streaming; dropped rows are recorded, not yielded."""
        for row in rows:
            fixed = self.repair_row(row)
            if fixed is not None:
                yield fixed

    def result(self, rows: list[ManifestRow]) -> RepairResult:
        """Package ``rows`` (what :meth:`repair` yielded) with the findings so far."""
        findings = sorted(self.findings, key=lambda f: (f.row or 0, f.code))
        return RepairResult(rows, findings, list(self.dropped), dict(self.counts))


def repair_rows(
    rows: Iterable[ManifestRow], *, registry: PrefixRegistry | None = None
) -> RepairResult:
    """Repair a manifest: full hostname URIs, unique safe names, metadata kept.

    Rows that cannot be repaired (no usable DRS URI) or that repeat a DRS object are dropped and
    listed in ``dropped`` with the reason; every other input row is in ``rows``, in order.
    """
    repairer = Repairer(registry=registry, max_per_code=0)
    return repairer.result(list(repairer.repair(rows)))
