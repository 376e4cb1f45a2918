"""GA4GH Passports: verify JWTs against configured issuers, read ControlledAccessGrants visas.

Issuers are trusted only when configured in the home's ``config.toml``::

    [passport.issuers."https://broker.example.org"]
    public_key_file = "keys/broker.pem"     # PEM, relative to the data home
    # public_key = "-----BEGIN PUBLIC KEY-----..."   (inline PEM instead)
    # jwks_file = "keys/broker.jwks.json"            (a JWKS; the JWT's kid picks the key)
    algorithms = ["RS256", "ES256"]                  # default: RS256, ES256, EdDSA

A passport's own signature and each visa's signature are checked against their ``iss``;
visas from unknown issuers, expired ones and other visa types grant nothing.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import jwt

from htan_cds.config import DataHome
from htan_cds.errors import ConfigError

_log = logging.getLogger("htan_cds.server")

_DEFAULT_ALGS = ("RS256", "ES256", "EdDSA")
_PHS_RE = re.compile(r"(phs\d{6,})(?:\.v\d+)?(?:\.p\d+)?(\.c\d+)?", re.IGNORECASE)
MAX_PASSPORTS = 10
MAX_VISAS = 200


@dataclass
class Issuer:
    """One trusted issuer: its keys (by kid, ``None`` for a single key) and algorithms."""

    iss: str
    keys: dict[str | None, Any] = field(default_factory=dict)
    algorithms: tuple[str, ...] = _DEFAULT_ALGS

    def key_for(self, kid: str | None) -> Any | None:
        if kid is not None and kid in self.keys:
            return self.keys[kid]
        if None in self.keys:
            return self.keys[None]
        if len(self.keys) == 1:
            return next(iter(self.keys.values()))
        return None


def _load_issuer(home: DataHome, iss: str, conf: dict[str, Any]) -> Issuer:
    keys: dict[str | None, Any] = {}
    try:
        if "public_key" in conf:
            keys[None] = str(conf["public_key"])
        if "public_key_file" in conf:
            keys[None] = (home.root / str(conf["public_key_file"])).read_text()
        if "jwks_file" in conf:
            jwks = json.loads((home.root / str(conf["jwks_file"])).read_text())
            for jwk in jwks.get("keys", []):
                keys[jwk.get("kid")] = jwt.PyJWK.from_dict(jwk).key
    except (OSError, ValueError, jwt.PyJWTError) as exc:
        raise ConfigError(f"passport issuer {iss}: cannot load its key: {exc}") from exc
    if not keys:
        raise ConfigError(f"passport issuer {iss} has no public_key, public_key_file or jwks_file")
    algs = conf.get("algorithms") or _DEFAULT_ALGS
    return Issuer(iss=iss, keys=keys, algorithms=tuple(str(a) for a in algs))


def load_issuers(home: DataHome) -> dict[str, Issuer]:
    """The trusted issuers configured in ``config.toml`` (``[passport.issuers."<iss>"]``)."""
    conf = home.load_config().get("passport", {})
    issuers = conf.get("issuers", {}) if isinstance(conf, dict) else {}
    if not isinstance(issuers, dict):
        raise ConfigError("[passport.issuers] must be a table of issuer tables")
    return {iss: _load_issuer(home, iss, c) for iss, c in issuers.items() if isinstance(c, dict)}


def grant_from_visa_value(value: str) -> str | None:
    """``phs002371.c1`` from a dbGaP visa value (URL or accession); None if not a study."""
    match = _PHS_RE.search(value or "")
    if not match:
        return None
    return match.group(1).lower() + (match.group(2) or "").lower()


class PassportVerifier:
    """Turns passport/visa JWTs into consent-group grants."""

    def __init__(self, issuers: dict[str, Issuer]) -> None:
        self.issuers = issuers

    @property
    def issuer_names(self) -> list[str]:
        return sorted(self.issuers)

    def _decode(self, token: str) -> dict[str, Any] | None:
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        issuer = self.issuers.get(str(unverified.get("iss", "")))
        if issuer is None:
            return None
        key = issuer.key_for(header.get("kid"))
        if key is None:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(issuer.algorithms),
                options={"verify_aud": False, "require": ["iss", "exp"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            _log.info("passport/visa rejected: %s", exc)
            return None
        return claims

    def _visa_grant(self, claims: dict[str, Any]) -> str | None:
        visa = claims.get("ga4gh_visa_v1")
        if not isinstance(visa, dict) or visa.get("type") != "ControlledAccessGrants":
            return None
        return grant_from_visa_value(str(visa.get("value", "")))

    def grants(self, tokens: list[str]) -> frozenset[str] | None:
        """Grants carried by valid passports/visas; None when no token verified at all."""
        found: set[str] = set()
        verified = False
        for token in tokens[:MAX_PASSPORTS]:
            claims = self._decode(token)
            if claims is None:
                continue
            verified = True
            if "ga4gh_visa_v1" in claims:
                grant = self._visa_grant(claims)
                if grant:
                    found.add(grant)
            visas = claims.get("ga4gh_passport_v1")
            if isinstance(visas, list):
                for visa_jwt in visas[:MAX_VISAS]:
                    visa_claims = self._decode(str(visa_jwt)) if isinstance(visa_jwt, str) else None
                    grant = self._visa_grant(visa_claims) if visa_claims else None
                    if grant:
                        found.add(grant)
        return frozenset(found) if verified else None


def load_verifier(home: DataHome) -> PassportVerifier:
    """A verifier for the issuers configured in ``home``'s ``config.toml``."""
    return PassportVerifier(load_issuers(home))
