"""Workspace settings: the ``[workspace]`` table of the data home's ``config.toml``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from htan_cds.config import DataHome
from htan_cds.errors import ConfigError

DRS_TOKEN_ENV = "HTAN_CDS_WORKSPACE_DRS_TOKEN"


@dataclass(frozen=True)
class WorkspaceSettings:
    """Limits and credentials of a workspace (defaults are CGC's published limits)."""

    max_items_per_call: int = 100
    import_limit: int = 500
    import_window_seconds: float = 300.0
    drs_token: str | None = None
    import_concurrency: int = 8
    manifest_max_bytes: int = 16 * 1024 * 1024
    manifest_timeout: float = 20.0
    manifest_max_rows: int = 10_000
    allow_private_manifest_hosts: bool = True

    @classmethod
    def load(cls, home: DataHome) -> WorkspaceSettings:
        """Read ``[workspace]`` from ``config.toml`` (and the DRS token from the environment)."""
        raw: Any = home.load_config().get("workspace", {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{home.config_path}: [workspace] must be a table")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{home.config_path}: unknown [workspace] keys: {', '.join(unknown)}")
        values = dict(raw)
        if os.environ.get(DRS_TOKEN_ENV):
            values["drs_token"] = os.environ[DRS_TOKEN_ENV]
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"{home.config_path}: [workspace]: {exc}") from exc
