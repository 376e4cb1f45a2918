"""Gen3 API keys (``credentials.json`` from a CRDC portal) exchanged for short-lived bearer tokens.

The HTAN portal tells users to download ``credentials.json`` (``{"api_key": ..., "key_id": ...}``)
from nci-crdc.datacommons.io. A Gen3 commons trades it for an access token at
``https://HOST/user/credentials/api/access_token``; tokens last about 20 minutes, so the token is
renewed a margin before its ``exp`` claim.

The key is exchanged only at its own ``origin`` (that of the key's ``iss`` claim, see
:mod:`htan_cds.drs.credentials`); asking for a token elsewhere raises :class:`AccessDenied`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from htan_cds.errors import AccessDenied, UsageError
from htan_cds.net.bounded import read_capped
from htan_cds.net.origins import origin as origin_of

TOKEN_PATH = "/user/credentials/api/access_token"
# Renew this long before expiry so a token never dies between resolve and the byte request.
RENEW_MARGIN = 300.0
# When the token carries no readable exp claim, assume Gen3's default lifetime.
DEFAULT_LIFETIME = 1200.0


@dataclass(frozen=True)
class Gen3ApiKey:
    """The two fields of a Gen3 ``credentials.json``."""

    api_key: str
    key_id: str | None = None

    @classmethod
    def load(cls, path: Path) -> Gen3ApiKey:
        """Read a ``credentials.json``; one clear error when it is not one."""
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError as exc:
            raise UsageError(f"Gen3 credentials file {path} not found") from exc
        except (OSError, ValueError) as exc:
            raise UsageError(f"Gen3 credentials file {path} is not JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("api_key"), str):
            raise UsageError(f"Gen3 credentials file {path} has no api_key")
        key_id = data.get("key_id")
        return cls(api_key=data["api_key"], key_id=key_id if isinstance(key_id, str) else None)


def _token_expiry(token: str, now: float) -> float:
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return now + DEFAULT_LIFETIME
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else now + DEFAULT_LIFETIME


@dataclass
class Gen3TokenSource:
    """Bearer tokens per Gen3 host, fetched on demand and renewed before they expire."""

    key: Gen3ApiKey
    origin: str | None = None
    margin: float = RENEW_MARGIN
    # Origins that answer for the key's own host by the user's ``[drs.endpoints]`` (a mirror,
    # a gateway, a test stand-in): the key goes there as to its own host, and nowhere else.
    mirrors: set[str] = field(default_factory=set)
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    exchanges: int = 0

    def belongs_to(self, origin: str) -> bool:
        """True for the key's own origin and the origins mapped to answer for it (False for
        every origin while the key is bound to none)."""
        if self.origin is None:
            return False
        found = origin_of(origin)
        return found == self.origin or found in self.mirrors

    async def token(
        self, session: aiohttp.ClientSession, origin: str, *, force: bool = False
    ) -> str:
        """A valid access token for ``origin`` (``https://host``), exchanging the key if needed.

        Refuses (:class:`AccessDenied`) any origin but the key's own when the key is bound.
        """
        if self.origin is not None and not self.belongs_to(origin):
            raise AccessDenied(f"the Gen3 API key belongs to {self.origin}, not {origin}")
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(origin)
            now = time.time()
            if cached is not None and not force and cached[1] - self.margin > now:
                return cached[0]
            token = await self._exchange(session, origin)
            self._tokens[origin] = (token, _token_expiry(token, now))
            return token

    async def _exchange(self, session: aiohttp.ClientSession, origin: str) -> str:
        body: dict[str, str] = {"api_key": self.key.api_key}
        if self.key.key_id:
            body["key_id"] = self.key.key_id
        url = origin.rstrip("/") + TOKEN_PATH
        self.exchanges += 1
        try:
            async with session.post(url, json=body, allow_redirects=False) as resp:
                if resp.status in (401, 403):
                    raise AccessDenied(
                        f"{origin} refused the Gen3 API key ({resp.status})",
                        status_code=resp.status,
                        hint="download a fresh credentials.json from the portal",
                    )
                if resp.status != 200:
                    raise AccessDenied(
                        f"Gen3 token exchange at {url} failed with HTTP {resp.status}",
                        status_code=resp.status,
                    )
                data = json.loads(await read_capped(resp, 1 << 20, "Gen3 token answer"))
        except (aiohttp.ClientError, ValueError) as exc:
            raise AccessDenied(f"Gen3 token exchange at {url} failed: {exc}") from exc
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise AccessDenied(f"Gen3 token exchange at {url} returned no access_token")
        return token
