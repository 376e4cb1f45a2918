"""The workspace acts for its user: which source credentials one user's import may use.

The workspace holds tokens for source commons (``[[workspace.sources]]``), each bound to one
origin and declaring the grants it opens. A user's import may use a source token only when the
user's own grants (those of the workspace token that submitted the job) cover *every* grant of
that token, so no user reaches an object through the workspace that their own grants would not
open. Open objects need no token and are fetched anonymously for anyone; a source token whose
grants the user does not hold is simply not sent, and the source's 401/403 is that item's error.
Among several tokens for one origin the user may use, the one opening most is taken.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from htan_cds.drs.credentials import Credentials, host_origin
from htan_cds.errors import UsageError
from htan_cds.server.access import grant_covers


@dataclass(frozen=True)
class SourceCredential:
    """One configured source token: its origin, the token, and the grants it opens."""

    origin: str
    token: str
    grants: tuple[str, ...]
    token_env: str | None = None

    @classmethod
    def from_config(cls, raw: Any, env: Mapping[str, str]) -> SourceCredential:
        """Build from a ``[[workspace.sources]]`` table (``url``, ``token``|``token_env``,
        ``grants``); raises :class:`UsageError` naming what is missing."""
        if not isinstance(raw, dict):
            raise UsageError("each entry must be a table")
        unknown = sorted(set(raw) - {"url", "token", "token_env", "grants"})
        if unknown:
            raise UsageError(f"unknown keys {', '.join(unknown)}")
        url = raw.get("url")
        if not isinstance(url, str) or not url.strip():
            raise UsageError(
                "url (the source's origin, e.g. https://commons.example.org) is required"
            )
        token_env = raw.get("token_env")
        token = raw.get("token")
        if isinstance(token_env, str) and token_env:
            token = env.get(token_env)
            if not token:
                raise UsageError(f"{url}: environment variable {token_env} is not set")
        if not isinstance(token, str) or not token:
            raise UsageError(f"{url}: token or token_env is required")
        grants = raw.get("grants")
        if not isinstance(grants, list) or not all(isinstance(g, str) for g in grants):
            raise UsageError(
                f"{url}: grants (the list of grants this token opens at the source, [] for "
                "open data only) is required, so users are matched against it"
            )
        return cls(
            origin=host_origin(url),
            token=token,
            grants=tuple(g.strip() for g in grants if g.strip()),
            token_env=token_env if isinstance(token_env, str) else None,
        )

    def usable_by(self, user_grants: Iterable[str]) -> bool:
        """True when ``user_grants`` cover every grant this token opens."""
        held = list(user_grants)
        return all(any(grant_covers(u, g) for u in held) for g in self.grants)


def credentials_for(user_grants: Iterable[str], sources: Iterable[SourceCredential]) -> Credentials:
    """The host-bound credentials one user's import may use (per origin, at most one token)."""
    held = list(user_grants)
    chosen: dict[str, SourceCredential] = {}
    for source in sources:
        if not source.usable_by(held):
            continue
        best = chosen.get(source.origin)
        if best is None or len(source.grants) > len(best.grants):
            chosen[source.origin] = source
    return Credentials(host_tokens={o: s.token for o, s in chosen.items()})
