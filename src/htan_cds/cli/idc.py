"""CLI of the IDC source: ``catalog build --from-idc`` output."""

from __future__ import annotations

from typing import Any

from htan_cds.cli._common import emit_json, err_console
from htan_cds.config import DataHome
from htan_cds.units import format_size


def build_idc(home: DataHome, json_out: bool) -> None:
    """Add IDC's HTAN collections to the catalog in ``home`` and report what was added."""
    from htan_cds.catalog.sources.idc import build_from_idc

    with err_console.status("Reading idc-index-data"):
        result = build_from_idc(home)
    if json_out:
        emit_json(result)
    else:
        describe_idc(result)


def describe_idc(result: dict[str, Any]) -> None:
    """One line on stderr about the IDC rows a build wrote."""
    err_console.print(
        f"IDC {result['idc_release']} (idc-index-data {result['idc_index_data']}): "
        f"{result['files']:,} series of {result['participants']:,} participants in "
        f"{result['collections']} HTAN collections, {format_size(result['bytes'])} "
        f"({result['seconds']:.2f} s)"
    )
