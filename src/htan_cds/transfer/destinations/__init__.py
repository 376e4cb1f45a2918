"""Destination registry by URL scheme: local folders, ``s3://``; other areas add theirs
(the workspace area registers ``cgc:``) with :func:`register_destination`."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from htan_cds.errors import UsageError
from htan_cds.transfer.destinations.base import Destination, ExistingFile
from htan_cds.transfer.destinations.local import LocalDestination
from htan_cds.transfer.destinations.s3 import S3Destination
from htan_cds.transfer.options import ImportOptions

DestinationFactory = Callable[[str, ImportOptions], Destination]

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_FACTORIES: dict[str, DestinationFactory] = {}
# Schemes provided by other areas, imported on first use so the import engine does not depend
# on them (each module calls register_destination when imported).
_PROVIDERS: dict[str, str] = {"cgc": "htan_cds.workspace.cgc_destination"}


def register_destination(scheme: str, factory: DestinationFactory) -> None:
    """Make ``scheme:`` destinations (e.g. ``cgc:project``) available to imports."""
    _FACTORIES[scheme.lower()] = factory


def destination_scheme(dest: str) -> str:
    """``s3`` for ``s3://…``, ``local`` for paths and ``file://``."""
    match = _SCHEME_RE.match(dest)
    if not match or len(match.group(1)) == 1:  # one letter: a Windows drive
        return "local"
    scheme = match.group(1).lower()
    return "local" if scheme == "file" else scheme


def open_destination(dest: str, options: ImportOptions | None = None) -> Destination:
    """The destination for ``dest`` (raises :class:`UsageError` for unknown schemes)."""
    opts = options or ImportOptions()
    scheme = destination_scheme(dest)
    factory = _FACTORIES.get(scheme)
    if factory is None and scheme in _PROVIDERS:
        importlib.import_module(_PROVIDERS[scheme])
        factory = _FACTORIES.get(scheme)
    if factory is None:
        known = ", ".join(sorted(set(_FACTORIES) | set(_PROVIDERS)))
        raise UsageError(f"no destination type for {scheme}: (known: {known})")
    return factory(dest, opts)


register_destination("local", lambda dest, _opts: LocalDestination(dest))
register_destination(
    "s3",
    lambda dest, opts: S3Destination(dest, endpoint_url=opts.s3_endpoint, state_dir=opts.state_dir),
)

__all__ = [
    "Destination",
    "DestinationFactory",
    "ExistingFile",
    "LocalDestination",
    "S3Destination",
    "destination_scheme",
    "open_destination",
    "register_destination",
]
