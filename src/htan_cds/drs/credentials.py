"""Credentials bound to the hosts they were issued for.

A bearer token, a Gen3 API key and GA4GH passports are worth as much as the data they open, and
a manifest may name any DRS host. So each credential goes only to its own hosts, identified by
origin (scheme, host, port):

- a bearer token (``--token``) to the hosts named with ``--token-host``; without it, to the one
  DRS host of the manifest when there is exactly one (more: refused with a one-line error);
- a Gen3 API key, and the access tokens it is exchanged for, only to the origin of the key's
  ``iss`` claim (Gen3 fence's ``generate_api_key`` sets ``iss`` to the commons' ``BASE_URL``,
  e.g. ``https://nci-crdc.datacommons.io/user``);
- passports only to hosts whose DRS 1.5 ``Authorizations`` (``OPTIONS /objects/{id}``) list
  ``PassportAuth``, and of those only the passports carrying a visa from one of the object's
  ``passport_auth_issuers`` (DRS 1.5 ``Authorizations``: "the caller must only provide passports
  that contain visas from this list"), optionally narrowed to ``--passport-host``.

Redirects never carry a credential to another origin (see :mod:`htan_cds.net.redirects`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from htan_cds.drs.gen3_auth import Gen3ApiKey, Gen3TokenSource
from htan_cds.drs.uri import is_loopback_host
from htan_cds.errors import DrsError, UsageError
from htan_cds.net.origins import origin

__all__ = ["Credentials", "accepted_passports", "gen3_origin", "host_origin", "origin"]


def host_origin(text: str) -> str:
    """The origin a user means by ``--token-host`` (``host``, ``host:port`` or an URL).

    Without a scheme the DRS rule applies: https, except http for loopback hosts.
    """
    raw = text.strip().rstrip("/")
    if not raw:
        raise UsageError("an empty host was given")
    if "://" not in raw:
        if raw.startswith("["):
            host = raw[1:].split("]", 1)[0]
        else:
            host = raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw
        scheme = "http" if is_loopback_host(host) else "https"
        raw = f"{scheme}://{raw}"
    found = origin(raw)
    if found.split("://", 1)[1].startswith(":"):
        raise UsageError(f"{text!r} names no host")
    return found


def _jwt_claims(token: str) -> dict[str, Any]:
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


def gen3_origin(key: Gen3ApiKey, path: Path | str = "credentials.json") -> str:
    """The origin a Gen3 API key belongs to: that of its JWT's ``iss`` claim."""
    iss = _jwt_claims(key.api_key).get("iss")
    if not isinstance(iss, str) or "://" not in iss:
        raise UsageError(
            f"Gen3 credentials file {path}: the api_key names no issuer (iss), so its host "
            "is unknown and it is not sent anywhere"
        )
    return origin(iss)


def visa_issuers(passport: str) -> set[str]:
    """Issuers of a passport JWT and of the visas inside it (claims read, not verified)."""
    claims = _jwt_claims(passport)
    found: set[str] = set()
    if isinstance(claims.get("iss"), str):
        found.add(claims["iss"])
    visas = claims.get("ga4gh_passport_v1")
    for visa in visas if isinstance(visas, list) else []:
        if isinstance(visa, str):
            iss = _jwt_claims(visa).get("iss")
            if isinstance(iss, str):
                found.add(iss)
    return found


def _norm_iss(value: str) -> str:
    return value.strip().rstrip("/")


def accepted_passports(passports: Sequence[str], authorizations: Any) -> list[str]:
    """The passports an object's DRS ``Authorizations`` allow sending (possibly none)."""
    if not isinstance(authorizations, dict):
        return []
    types = authorizations.get("supported_types")
    issuers = authorizations.get("passport_auth_issuers")
    if not isinstance(types, list) or "PassportAuth" not in types:
        return []
    if not isinstance(issuers, list) or not issuers:
        return []  # the spec makes the list required; without it nobody is entitled to them
    allowed = {_norm_iss(i) for i in issuers if isinstance(i, str)}
    return [p for p in passports if {_norm_iss(i) for i in visa_issuers(p)} & allowed]


@dataclass
class Credentials:
    """What the user holds, each bound to its origin(s); see the module docstring.

    ``token_hosts`` are origins (``https://host:443``) or anything :func:`host_origin` reads.
    A token without hosts is *pending*: :meth:`bind_default` binds it to the single DRS host of
    the URIs about to be resolved, or refuses.
    """

    token: str | None = None
    passports: list[str] | None = None
    gen3: Gen3TokenSource | None = None
    token_hosts: Sequence[str] = ()
    passport_hosts: Sequence[str] | None = None
    # One token per origin (the workspace's source tokens): ``{"https://host:443": token}``.
    host_tokens: Mapping[str, str] = field(default_factory=dict)
    _token_origins: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self._token_origins = {host_origin(h) for h in self.token_hosts}
        self.host_tokens = {host_origin(h): t for h, t in self.host_tokens.items() if t}
        if self.passport_hosts is not None:
            self.passport_hosts = sorted({host_origin(h) for h in self.passport_hosts})

    @classmethod
    def build(
        cls,
        *,
        token: str | None = None,
        passport_file: Path | None = None,
        gen3_credentials: Path | None = None,
        token_hosts: Sequence[str] = (),
        passport_hosts: Sequence[str] | None = None,
    ) -> Credentials:
        """Credentials from CLI-style inputs (a passport file holds one JWT per line)."""
        passports: list[str] | None = None
        if passport_file is not None:
            try:
                text = Path(passport_file).read_text()
            except OSError as exc:
                raise DrsError(f"cannot read passport file {passport_file}: {exc}") from exc
            passports = [line.strip() for line in text.splitlines() if line.strip()]
        gen3 = None
        if gen3_credentials:
            key = Gen3ApiKey.load(gen3_credentials)
            gen3 = Gen3TokenSource(key, origin=gen3_origin(key, gen3_credentials))
        if token_hosts and not token:
            raise UsageError("--token-host needs --token")
        return cls(
            token=token,
            passports=passports,
            gen3=gen3,
            token_hosts=token_hosts,
            passport_hosts=passport_hosts,
        )

    @property
    def pending(self) -> bool:
        """True when a token waits to be bound to the hosts of a manifest."""
        return bool(self.token) and not self._token_origins

    @property
    def token_origins(self) -> frozenset[str]:
        """The origins the bearer token goes to."""
        return frozenset(self._token_origins)

    def bind_default(self, base_urls: Iterable[str]) -> None:
        """Bind a pending token to the one origin among ``base_urls``; refuse several."""
        if not self.pending:
            return
        origins = sorted({origin(u) for u in base_urls})
        if len(origins) > 1:
            shown = ", ".join(origins[:5]) + (" …" if len(origins) > 5 else "")
            raise UsageError(
                f"--token would go to {len(origins)} DRS hosts ({shown}); name the host(s) it "
                "was issued for with --token-host"
            )
        self._token_origins = set(origins)

    def static_token(self, base_url: str) -> str | None:
        """The bearer token for ``base_url``'s origin, if one is bound there."""
        host = origin(base_url)
        if self.token and host in self._token_origins:
            return self.token
        return self.host_tokens.get(host)

    def gen3_for(self, base_url: str) -> Gen3TokenSource | None:
        """The Gen3 key source when ``base_url`` is the key's own origin."""
        if self.gen3 is not None and self.gen3.belongs_to(base_url):
            return self.gen3
        return None

    def may_send_passports(self, base_url: str) -> bool:
        """True when passports may go to ``base_url`` at all (before its Authorizations)."""
        if not self.passports:
            return False
        return self.passport_hosts is None or origin(base_url) in self.passport_hosts
