"""Workspace settings: the ``[workspace]`` table of the data home's ``config.toml``.

Source credentials are bound to their hosts and say what they open::

    [workspace]
    allow_hosts = ["127.0.0.1:8000"]        # internal hosts the workspace may reach for users

    [[workspace.sources]]
    url = "https://commons.example.org"      # the origin this token is for (nowhere else)
    token_env = "COMMONS_TOKEN_PHS002371"    # or: token = "hcds_…"
    grants = ["phs002371"]                   # what the token opens; users must hold these

A user's import uses a source token only when the user's own grants cover every grant of that
token (see :mod:`htan_cds.workspace.sources`); configured source hosts are allowed by the
outgoing-connection guard.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from htan_cds.config import DataHome
from htan_cds.errors import ConfigError, UsageError
from htan_cds.net.guard import OutboundGuard
from htan_cds.workspace.sources import SourceCredential

DRS_TOKEN_ENV = "HTAN_CDS_WORKSPACE_DRS_TOKEN"
_RETIRED = {
    "drs_token": "a workspace-wide drs_token would go to every host a user names; bind tokens "
    "to their hosts with [[workspace.sources]] (url, token or token_env, grants)",
    "allow_private_manifest_hosts": "internal hosts are refused unless listed in allow_hosts "
    '(e.g. allow_hosts = ["127.0.0.1:8000"])',
}


@dataclass(frozen=True)
class WorkspaceSettings:
    """Limits and credentials of a workspace (defaults are CGC's published limits)."""

    max_items_per_call: int = 100
    import_limit: int = 500
    import_window_seconds: float = 300.0
    import_concurrency: int = 8
    manifest_max_bytes: int = 16 * 1024 * 1024
    manifest_timeout: float = 20.0
    manifest_max_rows: int = 10_000
    # Internal hosts (names, host:port, addresses or networks) the workspace may connect to for
    # its users; everything else internal is refused by the outgoing-connection guard.
    allow_hosts: tuple[str, ...] = ()
    sources: tuple[SourceCredential, ...] = ()
    # Jobs run at once (each user's job in its own thread), connections per source host in a
    # job, seconds one item may take, seconds one DRS API request may take.
    job_concurrency: int = 4
    host_limit: int = 8
    item_timeout: float = 3600.0
    request_timeout: float = 60.0

    @classmethod
    def load(cls, home: DataHome) -> WorkspaceSettings:
        """Read ``[workspace]`` from ``config.toml`` (tokens may come from the environment)."""
        raw: Any = home.load_config().get("workspace", {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{home.config_path}: [workspace] must be a table")
        for key, why in _RETIRED.items():
            if key in raw:
                raise ConfigError(f"{home.config_path}: [workspace] {key} is retired: {why}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{home.config_path}: unknown [workspace] keys: {', '.join(unknown)}")
        values = dict(raw)
        try:
            values["sources"] = tuple(
                SourceCredential.from_config(s, os.environ) for s in raw.get("sources") or []
            )
        except (UsageError, TypeError, ValueError) as exc:
            raise ConfigError(f"{home.config_path}: [[workspace.sources]]: {exc}") from exc
        if os.environ.get(DRS_TOKEN_ENV) and not any(
            s.token_env == DRS_TOKEN_ENV for s in values["sources"]
        ):
            raise ConfigError(
                f"{DRS_TOKEN_ENV} is set but no [[workspace.sources]] entry names it "
                f'(token_env = "{DRS_TOKEN_ENV}"): {_RETIRED["drs_token"]}'
            )
        hosts = raw.get("allow_hosts") or []
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise ConfigError(f"{home.config_path}: [workspace] allow_hosts must be strings")
        values["allow_hosts"] = tuple(hosts)
        try:
            settings = cls(**values)
            settings.guard()
        except TypeError as exc:
            raise ConfigError(f"{home.config_path}: [workspace]: {exc}") from exc
        return settings

    def guard(self) -> OutboundGuard:
        """The outgoing-connection guard: ``allow_hosts`` plus the configured source hosts."""
        return OutboundGuard(allow=[*self.allow_hosts, *(s.origin for s in self.sources)])
