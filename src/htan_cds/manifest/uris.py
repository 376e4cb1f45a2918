"""Classifying a manifest's DRS URI cell quickly: full, compact (and its full form), or bad.

Million-row manifests hold almost only canonical full or CRDC compact URIs; a regular expression
recognises those, and everything else goes through :func:`htan_cds.drs.uri.parse_drs_uri`, whose
verdict is authoritative (the fast path only accepts strings it also accepts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from htan_cds.drs.prefixes import PrefixRegistry, default_registry
from htan_cds.drs.uri import DrsUriKind, normalize_drs_uri, parse_drs_uri
from htan_cds.errors import InvalidDrsUri, UnknownPrefix

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SEGMENT = r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*"
# The lookahead leaves drs://dg.XXXX/<id> (a CRDC compact form, not a host) to the slow path.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# A local commons (``htan-cds demo``) names itself 127.0.0.1:PORT; its manifests must take the
# fast path too, or every portal download of a large cart pays the full parser per row.
_LOOPBACK_WITH_PORT = rf"(?:localhost|127\.{_OCTET}\.{_OCTET}\.{_OCTET}):{_PORT}"
_FAST_FULL = re.compile(
    rf"drs://(?:(?!dg\.[A-Za-z0-9]+/){_LABEL}(?:\.{_LABEL})+|{_LOOPBACK_WITH_PORT})"
    rf"/{_SEGMENT}(?:/{_SEGMENT})?"
)
_FAST_CRDC = re.compile(r"(?:drs://)?(dg\.[A-Za-z0-9]+)/([A-Za-z0-9._~-]+)")


# URI column names of the formats read (cgc, CDS portal, Terra, BigQuery…): such a cell is a header
# line inside the file, as ``cat a.csv b.csv`` leaves one (with b.csv's BOM, when it has one).
# Compared as the readers find columns: case, spaces, hyphens and underscores alike.
_URI_HEADERS = frozenset(
    {"drs_uri", "file_id", "drs_id", "object_id", "ga4gh_drs_uri", "pfb:ga4gh_drs_uri"}
)
_SPELLING = re.compile(r"[\s_-]+")
_BOM = "\ufeff"


class UriStatus(StrEnum):
    """What a URI cell holds."""

    FULL = "full"
    COMPACT = "compact"
    UNKNOWN_PREFIX = "unknown_prefix"
    MISSING = "missing"
    NOT_DRS = "not_drs"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class UriVerdict:
    """The status of one URI cell, its full hostname form when known, and why it is bad."""

    status: UriStatus
    full: str | None = None
    reason: str = ""


# The characters a DRS id (an accession) on the fast path may hold, "\n" joining the batch:
# bytes.translate deletes them in one C pass, so anything left over is a character to look at.
ACCESSION_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~-\n"
ID_BYTES = ACCESSION_BYTES + b"/"


def _has_other_bytes(text: str, allowed: bytes) -> bool:
    """True when ``text`` holds a character outside ``allowed`` (ASCII) — bulk, in C."""
    return not text.isascii() or bool(text.encode("ascii").translate(None, allowed))


_CRDC_PREFIX = re.compile(r"dg\.[A-Za-z0-9]+")
crdc_prefix = _CRDC_PREFIX.fullmatch
_BAD_ID_PAIRS = ("//", "/\n", "\n/", "\n\n", "/.", "\n.")


class UriClassifier:
    """Classifies URI cells against a prefix registry (the default: ``dg.4DFC`` → CRDC)."""

    def __init__(self, registry: PrefixRegistry | None = None) -> None:
        self.registry = registry if registry is not None else default_registry()
        self._crdc_bases: dict[str, str | None] = {}
        self._prefixes: dict[str, bool] = {}

    def crdc_base(self, prefix: str) -> str | None:
        if prefix not in self._crdc_bases:
            entry = self.registry.lookup(prefix)
            base: str | None = None
            if entry is not None and entry.id_template == "{prefix}/{accession}":
                authority = entry.host if entry.port is None else f"{entry.host}:{entry.port}"
                base = f"drs://{authority}/{quote(prefix, safe='')}/"
            self._crdc_bases[prefix] = base
        return self._crdc_bases[prefix]

    def all_full(self, uris: list[str]) -> bool:
        """True when every URI is canonical and full with one shared host (checked in bulk).

        ``False`` says nothing about any single URI: the caller then classifies them one by one.
        Real manifests put one host on every row, so a batch costs a few C-level string scans.
        """
        if not uris:
            return True
        first = uris[0]
        slash = first.find("/", 6)
        if slash < 0:
            return False
        prefix = first[: slash + 1]
        if not self.good_prefix(prefix):
            return False
        joined = "\n".join(uris)
        # n-1 line breaks each followed by the prefix: every URI starts with it (and none
        # holds a line break of its own).
        lines = len(uris) - 1
        if joined.count("\n") != lines or joined.count("\n" + prefix) != lines:
            return False
        ids = joined[len(prefix) :].replace("\n" + prefix, "\n")
        return not (
            _has_other_bytes(ids, ID_BYTES)
            or any(pair in ids for pair in _BAD_ID_PAIRS)
            or ids.startswith(("/", ".", "\n"))
            or ids.endswith(("/", "\n"))
            or not ids
        )

    def all_compact(self, uris: list[str]) -> tuple[str, str] | None:
        """``(head, base)`` when every URI is bare CRDC compact ``dg.XXXX/<id>``, one known prefix.

        ``head`` is ``dg.XXXX/`` and ``base`` the full form's start, so ``base + uri[len(head):]``
        is each URI's full form. ``None`` says nothing about any single URI (as :meth:`all_full`).
        ISB-CGC's ``gc_drs_map_current`` is all this form, so its exports check in bulk too.
        """
        if not uris:
            return None
        first = uris[0]
        slash = first.find("/")
        if slash < 0 or not _CRDC_PREFIX.fullmatch(first[:slash]):
            return None
        head = first[: slash + 1]
        base = self.crdc_base(first[:slash])
        if base is None:
            return None
        joined = "\n".join(uris)
        lines = len(uris) - 1
        if joined.count("\n") != lines or joined.count("\n" + head) != lines:
            return None
        ids = joined[len(head) :].replace("\n" + head, "\n")
        if (
            _has_other_bytes(ids, ACCESSION_BYTES)
            or "\n\n" in ids
            or not ids
            or ids.startswith("\n")
            or ids.endswith("\n")
        ):
            return None
        return head, base

    def good_prefix(self, prefix: str) -> bool:
        known = self._prefixes.get(prefix)
        if known is None:
            probe = prefix + "x"
            known = len(self._prefixes) < 64 and self.classify(probe) == UriVerdict(
                UriStatus.FULL, probe
            )
            self._prefixes[prefix] = known
        return known

    # A match means "canonical full URI"; None means: ask classify().
    full_matcher = staticmethod(_FAST_FULL.fullmatch)

    def classify(self, text: str) -> UriVerdict:
        """Classify one URI cell as :func:`parse_drs_uri` and :func:`normalize_drs_uri` would."""
        if _FAST_FULL.fullmatch(text) is not None:
            return UriVerdict(UriStatus.FULL, text)
        match = _FAST_CRDC.fullmatch(text)
        if match is not None:
            base = self.crdc_base(match.group(1))
            if base is not None:
                return UriVerdict(UriStatus.COMPACT, base + match.group(2))
        return self._slow(text)

    def _slow(self, text: str) -> UriVerdict:
        if not text.strip():
            return UriVerdict(UriStatus.MISSING, reason="no DRS URI")
        if _SPELLING.sub("_", text.strip().strip(_BOM).lower()) in _URI_HEADERS:
            reason = f"{text!r} is the header repeated as a row (two manifests joined?)"
            return UriVerdict(UriStatus.INVALID, reason=reason)
        try:
            uri = parse_drs_uri(text)
        except InvalidDrsUri as exc:
            lowered = text.strip().lower()
            status = (
                UriStatus.NOT_DRS
                if "://" in lowered and not lowered.startswith("drs://")
                else UriStatus.INVALID
            )
            return UriVerdict(status, reason=str(exc))
        if uri.kind is DrsUriKind.HOSTNAME:
            text_out = str(uri)
            # "drs://DG.4DFC/x" parses as host dg.4dfc, whose canonical text is CRDC compact
            # again; such a URI has no stable full form, so it is refused rather than flip-flop.
            if parse_drs_uri(text_out).kind is not DrsUriKind.HOSTNAME:
                return UriVerdict(
                    UriStatus.INVALID, reason=f"{text!r}: host {uri.host!r} looks like a prefix"
                )
            return UriVerdict(UriStatus.FULL, text_out)
        try:
            full = normalize_drs_uri(uri, self.registry)
        except UnknownPrefix as exc:
            return UriVerdict(UriStatus.UNKNOWN_PREFIX, reason=str(exc))
        return UriVerdict(UriStatus.COMPACT, str(full))
