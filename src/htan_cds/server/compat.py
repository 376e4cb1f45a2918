"""The ``--drs-compat 1.2`` profile: answers without the fields DRS added after 1.2."""

from __future__ import annotations

from typing import Any

from htan_cds.drs.models import FIELDS_AFTER_1_2

_ACCESS_METHOD_EXTRA = FIELDS_AFTER_1_2["AccessMethod"]
_OBJECT_EXTRA = FIELDS_AFTER_1_2["DrsObject"]
# service-info: the `drs` block (objectCount, totalObjectSize, ...) arrived with 1.3+.
_SERVICE_INFO_EXTRA = frozenset({"drs", "maxBulkRequestLength"})

SPEC_VERSION = "1.5.0"
COMPAT_12_VERSION = "1.2.0"


def object_12(obj: dict[str, Any]) -> dict[str, Any]:
    """A DRS object dict as DRS 1.2 defines it."""
    out = {k: v for k, v in obj.items() if k not in _OBJECT_EXTRA}
    methods = out.get("access_methods")
    if methods:
        out["access_methods"] = [
            {k: v for k, v in m.items() if k not in _ACCESS_METHOD_EXTRA} for m in methods
        ]
    return out


def service_info_12(info: dict[str, Any]) -> dict[str, Any]:
    """service-info as DRS 1.2 defines it (type version 1.2.0, no ``drs`` block)."""
    out = {k: v for k, v in info.items() if k not in _SERVICE_INFO_EXTRA}
    out["type"] = {**info["type"], "version": COMPAT_12_VERSION}
    return out
