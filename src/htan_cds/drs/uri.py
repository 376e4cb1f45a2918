"""DRS URIs: parse, validate, format and normalize every form HTAN users meet.

Forms understood (see docs/import.md, SOURCE, and its table of real servers' shapes):

* hostname-based ``drs://host/id`` (DRS 1.5); the id may contain ``/`` as CRDC's
  ``dg.4DFC/<uuid>`` ids do, other reserved characters arrive percent-encoded;
* compact ``drs://prefix:accession`` and ``drs://provider/prefix:accession``;
* CRDC's compact ``dg.4DFC/<uuid>`` and ``drs://dg.4DFC/<uuid>`` (what ISB-CGC's
  ``gc_drs_map_current`` holds and CGC now rejects).

Deviation from the spec, on purpose: a loopback host (``localhost``, ``127.x.y.z``, ``[::1]``)
may carry a port and is resolved over plain http, so a commons on a laptop works.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, unquote

from htan_cds.drs.prefixes import PrefixRegistry, default_registry
from htan_cds.errors import InvalidDrsUri, UnknownPrefix

SCHEME = "drs://"
DRS_API_PATH = "/ga4gh/drs/v1"

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
# CRDC data GUID prefixes: "dg." followed by an alphanumeric authority code (dg.4DFC, dg.ANV0, ...).
_CRDC_PREFIX_RE = re.compile(r"^dg\.[A-Za-z0-9]+$", re.IGNORECASE)
_UNRESERVED_RE = re.compile(r"^[A-Za-z0-9._~-]+$")
_NAMESPACE_RE = re.compile(r"^[A-Za-z0-9._-]+$")
_PORT_RE = re.compile(r"^[0-9]{1,5}$")
# prefix:accession without a scheme; a prefix of two or more characters (one letter is a Windows
# drive), optionally after a provider code, and an accession that does not look like a port.
_BARE_COMPACT_RE = re.compile(
    r"^(?:[A-Za-z0-9._-]+/)?[A-Za-z][A-Za-z0-9._-]+:(?![0-9]{1,5}(?:/|$))[^:/][^:]*$"
)


def _strip_repeated_prefix(prefix: str, accession: str) -> str:
    """``dg.4DFC/<uuid>`` for an accession written as ``dg.4DFC/dg.4DFC/<uuid>`` (any case):
    the prefix belongs in the id once, never doubled."""
    head = prefix.lower() + "/"
    while accession.lower().startswith(head):
        accession = accession[len(head) :]
    return accession


class DrsUriKind(StrEnum):
    """Which of the DRS URI styles a :class:`DrsUri` was written in."""

    HOSTNAME = "hostname"
    COMPACT = "compact"
    CRDC = "crdc"


@dataclass(frozen=True, slots=True)
class DrsUri:
    """A parsed DRS URI. Build with :func:`parse_drs_uri`; ``str()`` formats it back.

    ``object_id`` is the decoded DRS id the server is asked for (for CRDC forms,
    ``dg.4DFC/<uuid>``; for colon compact forms, the accession until a registry maps it).
    """

    kind: DrsUriKind
    object_id: str
    host: str | None = None
    port: int | None = None
    prefix: str | None = None
    accession: str | None = None
    provider: str | None = None
    bare: bool = False

    def __str__(self) -> str:
        return format_drs_uri(self)

    @property
    def is_compact(self) -> bool:
        """True for the forms that need a prefix registry before they can be resolved."""
        return self.kind is not DrsUriKind.HOSTNAME

    @property
    def authority(self) -> str:
        """``host`` or ``host:port`` of a hostname-based URI."""
        if self.host is None:
            raise InvalidDrsUri(f"{self} has no host; normalize it first")
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        return self.host is not None and is_loopback_host(self.host)

    def server_base_url(self) -> str:
        """Base URL of the DRS API for this URI's host (https:443, or http for loopback)."""
        scheme = "http" if self.is_loopback else "https"
        return f"{scheme}://{self.authority}{DRS_API_PATH}"

    def resolution_url(self) -> str:
        """``https://host/ga4gh/drs/v1/objects/<id>`` for a hostname-based URI."""
        if self.kind is not DrsUriKind.HOSTNAME:
            raise InvalidDrsUri(f"{self} is compact; normalize it before resolving")
        return f"{self.server_base_url()}/objects/{encode_object_id(self.object_id)}"


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1`` (bracketed or not)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def encode_object_id(object_id: str) -> str:
    """Percent-encode a DRS id for a URL path; ``/`` stays literal as CRDC servers expect."""
    return quote(object_id, safe="/")


def _valid_host(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    return bool(_HOSTNAME_RE.match(host)) and len(host) <= 253


def _check_id(object_id: str, text: str) -> None:
    if not object_id or object_id.strip() != object_id or "\x00" in object_id:
        raise InvalidDrsUri(f"DRS URI {text!r} has an empty or malformed id")
    for char in object_id:
        if ord(char) < 0x20 or ord(char) == 0x7F:
            raise InvalidDrsUri(f"DRS URI {text!r} has a control character in its id")
    segments = object_id.split("/")
    if any(seg in ("", ".", "..") for seg in segments):
        raise InvalidDrsUri(f"DRS URI {text!r} has an empty, '.' or '..' path segment in its id")


def _parse_crdc(prefix: str, accession: str, text: str, *, bare: bool) -> DrsUri:
    if not accession or not _UNRESERVED_RE.match(accession):
        raise InvalidDrsUri(f"{text!r}: CRDC accession after {prefix}/ must be a plain id")
    return DrsUri(
        kind=DrsUriKind.CRDC,
        object_id=f"{prefix}/{accession}",
        prefix=prefix,
        accession=accession,
        bare=bare,
    )


def _without_invisible(text: str) -> str:
    """``text`` without Unicode format characters (category Cf: zero-width spaces and joiners,
    soft hyphens, word joiners, byte-order marks, bidirectional marks). Web pages, PDFs, chat
    and word processors slip them into long strings as break hints, invisible on screen; a DRS
    URI never holds one unencoded (ids are ASCII, or percent-encoded as written here)."""
    if text.isascii():
        return text
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def parse_drs_uri(text: str) -> DrsUri:
    """Parse any supported DRS URI form; raise :class:`InvalidDrsUri` with the reason.

    White space around the URI and invisible format characters anywhere in it (what copying
    from a web page or a document adds) are not part of it; the parsed URI's ``str`` is the
    canonical text without them.
    """
    if not isinstance(text, str):
        raise InvalidDrsUri(f"DRS URI must be a string, not {type(text).__name__}")
    raw = _without_invisible(text).strip()
    if not raw:
        raise InvalidDrsUri("empty DRS URI")
    if raw[:6].lower() != SCHEME:
        first, sep, rest = raw.partition("/")
        if sep and _CRDC_PREFIX_RE.match(first):
            rest = _strip_repeated_prefix(first, rest)
            if "/" not in rest:
                return _parse_crdc(first, rest, text, bare=True)
        if "://" in raw:
            raise InvalidDrsUri(f"{text!r} is not a DRS URI (scheme must be drs://)")
        if _BARE_COMPACT_RE.match(raw) and not any(c.isspace() for c in raw):
            # "prefix:accession" without a scheme (DRS 1.5 compact identifiers as
            # identifiers.org writes them): read as drs://prefix:accession.
            return _parse_compact(raw, text)
        raise InvalidDrsUri(f"{text!r} is not a DRS URI (expected drs://host/id or dg.XXXX/id)")
    body = raw[6:]
    if not body:
        raise InvalidDrsUri(f"{text!r} has nothing after drs://")
    if any(c.isspace() for c in body):
        raise InvalidDrsUri(f"{text!r} contains white space")
    authority, sep, path = body.partition("/")
    host, colon, port_text = (
        authority.rpartition(":")
        if not authority.endswith("]")
        else (
            authority,
            "",
            "",
        )
    )
    if colon and sep and path and _PORT_RE.match(port_text):
        if is_loopback_host(host):
            return _hostname(host, int(port_text), path, text)
        if _valid_host(host) and int(port_text) == 443 and not _CRDC_PREFIX_RE.match(host):
            # DRS 1.5 hostname URIs resolve over https on 443, so ":443" names the same object.
            return _hostname(host, None, path, text)
        if _valid_host(host):
            raise InvalidDrsUri(
                f"{text!r}: a DRS host may carry a port only on loopback (DRS uses port 443)"
            )
    if ":" in body:
        return _parse_compact(body, text)
    if not sep or not path:
        raise InvalidDrsUri(f"{text!r} has no object id (expected drs://host/id)")
    if _CRDC_PREFIX_RE.match(authority):
        path = _strip_repeated_prefix(authority, path)
        if "/" not in path:
            return _parse_crdc(authority, path, text, bare=False)
    return _hostname(authority, None, path, text)


def _hostname(host: str, port: int | None, path: str, text: str) -> DrsUri:
    if not _valid_host(host):
        raise InvalidDrsUri(f"{text!r}: {host!r} is not a valid host name")
    if port is not None and not 0 < port < 65536:
        raise InvalidDrsUri(f"{text!r}: port {port} is out of range")
    object_id = unquote(path, errors="strict")
    _check_id(object_id, text)
    return DrsUri(kind=DrsUriKind.HOSTNAME, object_id=object_id, host=host.lower(), port=port)


def _parse_compact(body: str, text: str) -> DrsUri:
    head, _, accession = body.partition(":")
    provider: str | None = None
    namespace = head
    if "/" in head:
        provider, _, namespace = head.partition("/")
        if not provider or "/" in namespace or not _NAMESPACE_RE.match(provider):
            raise InvalidDrsUri(f"{text!r}: malformed provider code in compact DRS URI")
    if not namespace or not _NAMESPACE_RE.match(namespace):
        raise InvalidDrsUri(f"{text!r}: malformed prefix in compact DRS URI")
    decoded = unquote(accession, errors="strict")
    if not accession:
        raise InvalidDrsUri(f"{text!r}: compact DRS URI has no accession")
    _check_id(decoded, text)
    return DrsUri(
        kind=DrsUriKind.COMPACT,
        object_id=decoded,
        prefix=namespace,
        accession=decoded,
        provider=provider,
    )


def format_drs_uri(uri: DrsUri) -> str:
    """The canonical text of a :class:`DrsUri` in the style it was written in."""
    if uri.kind is DrsUriKind.HOSTNAME:
        return f"{SCHEME}{uri.authority}/{encode_object_id(uri.object_id)}"
    if uri.kind is DrsUriKind.CRDC:
        text = f"{uri.prefix}/{uri.accession}"
        return text if uri.bare else SCHEME + text
    provider = f"{uri.provider}/" if uri.provider else ""
    return f"{SCHEME}{provider}{uri.prefix}:{quote(uri.accession or '', safe='/')}"


def normalize_drs_uri(value: str | DrsUri, registry: PrefixRegistry | None = None) -> DrsUri:
    """Turn any form into the full hostname form CGC requires (idempotent).

    Compact forms are mapped through ``registry`` (built-in ``dg.4DFC`` →
    ``nci-crdc.datacommons.io`` plus user config); an unknown prefix raises
    :class:`UnknownPrefix` (the import engine then asks identifiers.org / n2t).
    """
    uri = parse_drs_uri(value) if isinstance(value, str) else value
    if uri.kind is DrsUriKind.HOSTNAME:
        return uri
    reg = registry if registry is not None else default_registry()
    assert uri.prefix is not None and uri.accession is not None
    entry = reg.lookup(uri.prefix)
    if entry is None:
        raise UnknownPrefix(
            f"no DRS host known for prefix {uri.prefix!r} in {uri}",
            hint="add it under [drs.prefixes] in config.toml",
        )
    # The registry's spelling of the prefix is canonical: ids are case-sensitive on servers.
    accession = uri.accession
    if "{prefix}" in entry.id_template:
        # "dg.4DFC:dg.4DFC/<uuid>" repeats the prefix that the template adds again.
        accession = _strip_repeated_prefix(entry.prefix, accession)
    object_id = entry.object_id(entry.prefix, accession)
    return DrsUri(kind=DrsUriKind.HOSTNAME, object_id=object_id, host=entry.host, port=entry.port)


def make_drs_uri(host: str, object_id: str, port: int | None = None) -> DrsUri:
    """Build a hostname-based DRS URI for ``object_id`` served at ``host[:port]``."""
    authority = host if port is None else f"{host}:{port}"
    return parse_drs_uri(f"{SCHEME}{authority}/{encode_object_id(object_id)}")
