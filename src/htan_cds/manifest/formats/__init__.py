"""The built-in manifest formats, each one module with a reader, a sniffer and a writer."""

from __future__ import annotations

from htan_cds.manifest.registry import register_format


def register_builtin() -> None:
    """Put every built-in format into the registry."""
    from htan_cds.manifest.formats import (
        bigquery,
        cds_portal,
        cgc,
        gen3,
        htan_portal,
        s5cmd,
        table,
        terra,
    )

    for module in (cgc, cds_portal, htan_portal, gen3, bigquery, s5cmd, terra, table):
        register_format(module.FORMAT)
