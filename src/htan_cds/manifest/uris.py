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
_FAST_FULL = re.compile(rf"drs://({_LABEL}(?:\.{_LABEL})+)/{_SEGMENT}(?:/{_SEGMENT})?")
_FAST_CRDC = re.compile(r"(?:drs://)?(dg\.[A-Za-z0-9]+)/([A-Za-z0-9._~-]+)")
_CRDC_HOST = re.compile(r"dg\.[A-Za-z0-9]+")


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


class UriClassifier:
    """Classifies URI cells against a prefix registry (the default: ``dg.4DFC`` → CRDC)."""

    def __init__(self, registry: PrefixRegistry | None = None) -> None:
        self.registry = registry if registry is not None else default_registry()
        self._crdc_bases: dict[str, str | None] = {}

    def _crdc_base(self, prefix: str) -> str | None:
        if prefix not in self._crdc_bases:
            entry = self.registry.lookup(prefix)
            base: str | None = None
            if entry is not None and entry.id_template == "{prefix}/{accession}":
                authority = entry.host if entry.port is None else f"{entry.host}:{entry.port}"
                base = f"drs://{authority}/{quote(prefix, safe='')}/"
            self._crdc_bases[prefix] = base
        return self._crdc_bases[prefix]

    def classify(self, text: str) -> UriVerdict:
        """Classify one URI cell as :func:`parse_drs_uri` and :func:`normalize_drs_uri` would."""
        match = _FAST_FULL.fullmatch(text)
        if match is not None and not _CRDC_HOST.fullmatch(match.group(1)):
            return UriVerdict(UriStatus.FULL, text)
        match = _FAST_CRDC.fullmatch(text)
        if match is not None:
            base = self._crdc_base(match.group(1))
            if base is not None:
                return UriVerdict(UriStatus.COMPACT, base + match.group(2))
        return self._slow(text)

    def _slow(self, text: str) -> UriVerdict:
        if not text.strip():
            return UriVerdict(UriStatus.MISSING, reason="no DRS URI")
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
            return UriVerdict(UriStatus.FULL, str(uri))
        try:
            full = normalize_drs_uri(uri, self.registry)
        except UnknownPrefix as exc:
            return UriVerdict(UriStatus.UNKNOWN_PREFIX, reason=str(exc))
        return UriVerdict(UriStatus.COMPACT, str(full))
