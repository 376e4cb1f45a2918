"""Prefix registry: which DRS host serves a compact prefix such as ``dg.4DFC``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from htan_cds.errors import ConfigError

CRDC_HOST = "nci-crdc.datacommons.io"


@dataclass(frozen=True, slots=True)
class PrefixEntry:
    """One prefix's resolution: host (and loopback port) plus how the DRS id is built.

    ``id_template`` takes ``{prefix}`` and ``{accession}``; CRDC's data GUIDs keep the prefix in
    the id (``dg.4DFC/<uuid>``) while identifiers.org-style namespaces usually do not.
    """

    prefix: str
    host: str
    port: int | None = None
    id_template: str = "{prefix}/{accession}"

    def object_id(self, prefix: str, accession: str) -> str:
        return self.id_template.format(prefix=prefix, accession=accession)


@dataclass
class PrefixRegistry:
    """Case-insensitive map of compact prefixes to :class:`PrefixEntry`."""

    _entries: dict[str, PrefixEntry] = field(default_factory=dict)

    def register(self, entry: PrefixEntry) -> None:
        self._entries[entry.prefix.lower()] = entry

    def lookup(self, prefix: str) -> PrefixEntry | None:
        return self._entries.get(prefix.lower())

    def __iter__(self) -> Iterator[PrefixEntry]:
        return iter(self._entries.values())

    def copy(self) -> PrefixRegistry:
        return PrefixRegistry(dict(self._entries))

    def update_from_config(self, config: Mapping[str, object]) -> None:
        """Add ``[drs.prefixes]`` entries: ``"dg.XXXX" = "host[:port]"`` or a table."""
        drs = config.get("drs", {})
        prefixes = drs.get("prefixes", {}) if isinstance(drs, Mapping) else {}
        if not isinstance(prefixes, Mapping):
            raise ConfigError("[drs.prefixes] must be a table")
        for prefix, value in prefixes.items():
            if isinstance(value, str):
                host, port = _split_host(value)
                self.register(PrefixEntry(str(prefix), host, port))
            elif isinstance(value, Mapping) and isinstance(value.get("host"), str):
                host, port = _split_host(str(value["host"]))
                template = str(value.get("id_template", "{prefix}/{accession}"))
                self.register(PrefixEntry(str(prefix), host, port, template))
            else:
                raise ConfigError(f"[drs.prefixes] {prefix!r} needs a host")


def _split_host(value: str) -> tuple[str, int | None]:
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return value, None


# Production compact-id hosts of Terra's DRS Hub (DataBiosphere/terra-drs-hub
# service/src/main/resources/application.yml, profile "prod", drshub.compactIdHosts); Gen3
# commons keep the prefix in their ids (dg.XXXX/<uuid>), Terra Data Repo does not.
_BUILTIN: tuple[PrefixEntry, ...] = (
    PrefixEntry("dg.4DFC", CRDC_HOST),
    PrefixEntry("dg.4503", "gen3.biodatacatalyst.nhlbi.nih.gov"),
    PrefixEntry("dg.ANV0", "gen3.theanvil.io"),
    PrefixEntry("dg.F82A1A", "data.kidsfirstdrc.org"),
    PrefixEntry("drs.ANV0", "data.terra.bio", id_template="{accession}"),
)


def builtin_registry() -> PrefixRegistry:
    """The prefixes htan-cds knows without configuration."""
    registry = PrefixRegistry()
    for entry in _BUILTIN:
        registry.register(entry)
    return registry


_DEFAULT: PrefixRegistry | None = None


def default_registry() -> PrefixRegistry:
    """The built-in registry (shared, read-only by convention)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = builtin_registry()
    return _DEFAULT
