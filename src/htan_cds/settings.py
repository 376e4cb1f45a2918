"""The DRS settings every resolving command shares, read once from the data home's
``config.toml`` (and the environment):

* ``[drs.prefixes]``: compact prefixes → host (:class:`~htan_cds.drs.prefixes.PrefixRegistry`);
* ``[drs.endpoints]`` / ``HTAN_CDS_DRS_ENDPOINTS``: DRS host → the base URL answering for it
  (:class:`~htan_cds.drs.endpoints.EndpointMap`);
* ``[drs.public_cloud]`` / ``HTAN_CDS_S3_PUBLIC_URL``, ``HTAN_CDS_GS_PUBLIC_URL``: the HTTPS
  endpoints public ``s3://`` and ``gs://`` buckets are read from.

``manifest check/convert``, ``import``, ``info``, ``preview`` and the workspace all call
:func:`drs_settings`, so a prefix or an endpoint configured once is used everywhere.

``[drs.prefixes]`` values are ``"host[:port]"`` or a table with ``host`` and an optional
``id_template`` (built from ``{prefix}`` and ``{accession}``; Gen3 GUIDs keep the prefix, the
default)::

    [drs.prefixes]
    "dg.4503" = "gen3.biodatacatalyst.nhlbi.nih.gov"      # BioData Catalyst
    "dg.ANV0" = "gen3.theanvil.io"                        # AnVIL
    "dg.TEST" = { host = "127.0.0.1:8000", id_template = "{prefix}/{accession}" }

A host with a scheme or a path, or a template without ``{accession}``, is refused in one line
naming the file: it would otherwise build URIs no server answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from htan_cds.config import DataHome, default_home
from htan_cds.drs.access_methods import PublicCloud
from htan_cds.drs.endpoints import EndpointMap
from htan_cds.drs.prefixes import PrefixRegistry, builtin_registry
from htan_cds.errors import ConfigError

# A compact prefix as identifiers.org / Gen3 write them (dg.4DFC, dg.ANV0, dg.4503, …).
_PREFIX_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# A host name or IPv4 address with an optional port; no scheme, path or user part.
_HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?")


@dataclass(frozen=True)
class DrsSettings:
    """Prefix registry, endpoint map and public cloud endpoints in force."""

    registry: PrefixRegistry = field(default_factory=builtin_registry)
    endpoints: EndpointMap = field(default_factory=EndpointMap)
    public_cloud: PublicCloud = field(default_factory=PublicCloud.from_env)


def drs_settings(home: DataHome | Path | str | None = None) -> DrsSettings:
    """The settings of ``home`` (default: ``--home``/``HTAN_CDS_HOME``/platform default).

    A data home that does not exist yet simply has no configuration; a malformed file raises
    :class:`~htan_cds.errors.ConfigError` naming the section.
    """
    if isinstance(home, DataHome):
        config, path = home.load_config(), home.config_path
    else:
        root = Path(home).expanduser() if home is not None else default_home()
        path = root / "config.toml"
        config = DataHome(root).load_config() if path.is_file() else {}
    _check_prefixes(config, path)
    registry = builtin_registry()
    registry.update_from_config(config)
    endpoints = EndpointMap()
    endpoints.update_from_config(config)
    endpoints.update_from_env()
    public = PublicCloud.from_config(config)
    return DrsSettings(registry=registry, endpoints=endpoints, public_cloud=public)


def prefix_registry(home: DataHome | Path | str | None = None) -> PrefixRegistry:
    """Just the prefix registry of ``home``: built-in prefixes plus its ``[drs.prefixes]``."""
    return drs_settings(home).registry


def _check_prefixes(config: Mapping[str, object], path: Path) -> None:
    """Refuse ``[drs.prefixes]`` entries that would build URIs no server answers."""
    drs = config.get("drs", {})
    prefixes = drs.get("prefixes", {}) if isinstance(drs, Mapping) else {}
    if not isinstance(prefixes, Mapping):
        raise ConfigError(f"{path}: [drs.prefixes] must be a table")
    for prefix, value in prefixes.items():
        host = value.get("host") if isinstance(value, Mapping) else value
        if not _PREFIX_RE.fullmatch(str(prefix)):
            raise ConfigError(f"{path}: [drs.prefixes] {prefix!r} is not a prefix")
        if not isinstance(host, str) or not _HOST_RE.fullmatch(host):
            raise ConfigError(
                f"{path}: [drs.prefixes] {prefix!r} needs a host such as "
                f'"gen3.theanvil.io" (no scheme or path), not {host!r}'
            )
        template = value.get("id_template", "{accession}") if isinstance(value, Mapping) else ""
        if isinstance(value, Mapping) and (
            not isinstance(template, str) or "{accession}" not in template
        ):
            raise ConfigError(
                f"{path}: [drs.prefixes] {prefix!r}: id_template must contain {{accession}}"
            )
