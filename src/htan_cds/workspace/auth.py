"""Who is calling: ``X-SBG-Auth-Token`` (or a Bearer token) checked against the TokenStore."""

from __future__ import annotations

import re
from dataclasses import dataclass

from htan_cds.config import DataHome
from htan_cds.server.tokens import TokenInfo, TokenStore

_USER_RE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class User:
    """A workspace user: the token's label (``htan-cds token create --label NAME``)."""

    username: str
    token_id: str


def username_for(info: TokenInfo) -> str:
    """The username a token stands for: its label, else ``user-<token id>``."""
    if info.label:
        name = _USER_RE.sub("-", info.label.strip()).strip("-")
        if name:
            return name
    return f"user-{info.id}"


class Authenticator:
    """Maps request tokens to users through the data home's :class:`TokenStore`."""

    def __init__(self, home: DataHome) -> None:
        self.tokens = TokenStore(home)

    def user(self, token: str | None) -> User | None:
        """The user of a valid, active token; None for a missing, unknown or revoked one."""
        if not token:
            return None
        info = self.tokens.verify(token.strip())
        if info is None:
            return None
        return User(username=username_for(info), token_id=info.id)

    def grants_of(self, token_id: str | None) -> tuple[str, ...]:
        """The grants of an active token by id (none for an unknown, revoked or expired one).

        A job runs with the grants of the token that submitted it, read when it runs, so a
        revoked token stops its pending imports of controlled data.
        """
        if not token_id:
            return ()
        for info in self.tokens.list():
            if info.id == token_id:
                return info.grants if info.active else ()
        return ()


def token_from_headers(headers: dict[str, str] | object) -> str | None:
    """The token of ``X-SBG-Auth-Token`` or ``Authorization: Bearer``, if any."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    token = get("x-sbg-auth-token")
    if token:
        return str(token)
    auth = get("authorization")
    if auth and str(auth).lower().startswith("bearer "):
        return str(auth)[7:].strip()
    return None
