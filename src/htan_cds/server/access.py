"""Access decisions: who may see a controlled object's metadata, signed URLs and bytes.

An object is open, or controlled by one consent group (a dbGaP ``phs`` accession, optionally with
a consent code). A caller holds grants from a bearer token (``Authorization: Bearer``) and/or
GA4GH passports in a POST body. Decisions: open → allowed; controlled and no valid credential →
401; credential without a covering grant → 403.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from htan_cds.server.passports import PassportVerifier
from htan_cds.server.tokens import TokenStore


@dataclass(frozen=True)
class Caller:
    """The credentials that came with one request."""

    grants: frozenset[str] = frozenset()
    authenticated: bool = False

    def merge(self, other: Caller) -> Caller:
        return Caller(self.grants | other.grants, self.authenticated or other.authenticated)


ANONYMOUS = Caller()


def grant_covers(grant: str, group: str) -> bool:
    """True if holding ``grant`` opens data of consent ``group``.

    ``phs002371`` covers every consent code of the study (``phs002371.c1``…); ``phs002371.c1``
    covers that code, and also a catalog group that names only the study (no consent code).
    """
    grant, group = grant.lower(), group.lower()
    if grant == group or group.startswith(grant + "."):
        return True
    return ".c" not in group and grant.split(".", 1)[0] == group


def decide(groups: Iterable[str], caller: Caller) -> int | None:
    """None if ``caller`` may access an object needing all ``groups``; else 401 or 403."""
    needed = list(groups)
    if not needed:
        return None
    if not caller.authenticated:
        return 401
    for group in needed:
        if not any(grant_covers(g, group) for g in caller.grants):
            return 403
    return None


def file_groups(access: str | None, consent_group: str | None) -> frozenset[str]:
    """Consent groups a caller must hold to see a file whose ``files.access`` is ``access``.

    ``open`` (any letter case, or missing) needs none; anything else is controlled by its
    ``consent_group``, or by the placeholder group ``controlled`` when the catalog names none.
    """
    if (access or "open").strip().lower() == "open":
        return frozenset()
    return frozenset({(consent_group or "").strip() or "controlled"})


def can_see(file_row: Mapping[str, Any] | Any, grants: Iterable[str] | Caller) -> bool:
    """True if a caller holding ``grants`` may see ``file_row``'s identifying metadata.

    The one rule for every path that reads the catalog (DRS API, portal pages and JSON,
    exports, thumbnails, tiles): an open file is visible to anyone; a controlled one only to a
    caller whose grants cover its consent group (:func:`grant_covers`). ``file_row`` is a
    catalog row (a mapping with ``access`` and ``consent_group``) or any object with those
    attributes (``FileRecord``); ``grants`` is an iterable of grant strings or a :class:`Caller`.
    See docs/security.md ("Controlled metadata").
    """
    if isinstance(file_row, Mapping):
        access, group = file_row.get("access"), file_row.get("consent_group")
    else:
        access, group = getattr(file_row, "access", None), getattr(file_row, "consent_group", None)
    needed = file_groups(access, group)
    if not needed:
        return True
    held = grants.grants if isinstance(grants, Caller) else frozenset(grants)
    return all(any(grant_covers(g, n) for g in held) for n in needed)


def bearer_caller(authorization: str | None, tokens: TokenStore) -> Caller | None:
    """The caller an ``Authorization`` header describes: anonymous if absent, None if invalid.

    A presented credential that does not verify (unknown, revoked or expired token; a scheme
    other than Bearer) is refused outright rather than ignored, as RFC 6750 asks.
    """
    if authorization is None or not authorization.strip():
        return ANONYMOUS
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    info = tokens.verify(value.strip())
    if info is None:
        return None
    return Caller(frozenset(info.grants), True)


def passport_caller(passports: list[str] | None, verifier: PassportVerifier) -> Caller:
    """The caller described by passport JWTs from a POST body."""
    if not passports:
        return ANONYMOUS
    grants = verifier.grants(passports)
    if grants is None:
        return ANONYMOUS
    return Caller(grants, True)
