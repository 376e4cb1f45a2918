"""The DRS settings every resolving command shares, read once from the data home's
``config.toml`` (and the environment):

* ``[drs.prefixes]``: compact prefixes → host (:class:`~htan_cds.drs.prefixes.PrefixRegistry`);
* ``[drs.endpoints]`` / ``HTAN_CDS_DRS_ENDPOINTS``: DRS host → the base URL answering for it
  (:class:`~htan_cds.drs.endpoints.EndpointMap`);
* ``[drs.public_cloud]`` / ``HTAN_CDS_S3_PUBLIC_URL``, ``HTAN_CDS_GS_PUBLIC_URL``: the HTTPS
  endpoints public ``s3://`` and ``gs://`` buckets are read from.

``manifest check/convert``, ``import``, ``info``, ``preview`` and the workspace all call
:func:`drs_settings`, so a prefix or an endpoint configured once is used everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from htan_cds.config import DataHome, default_home
from htan_cds.drs.access_methods import PublicCloud
from htan_cds.drs.endpoints import EndpointMap
from htan_cds.drs.prefixes import PrefixRegistry, builtin_registry


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
        config = home.load_config()
    else:
        root = Path(home).expanduser() if home is not None else default_home()
        config = DataHome(root).load_config() if (root / "config.toml").is_file() else {}
    registry = builtin_registry()
    registry.update_from_config(config)
    endpoints = EndpointMap()
    endpoints.update_from_config(config)
    endpoints.update_from_env()
    public = PublicCloud.from_config(config)
    return DrsSettings(registry=registry, endpoints=endpoints, public_cloud=public)
