"""Links from a catalog file to viewers elsewhere (links only: nothing here fetches them).

IDC series open in IDC's Slim viewer for slide microscopy, at
``https://viewer.imaging.datacommons.cancer.gov/slim/studies/{StudyInstanceUID}`` (the study)
and ``…/slim/studies/{StudyInstanceUID}/series/{SeriesInstanceUID}`` (one series), the URL forms
of ImagingDataCommons/idc-index ``IDCClient.get_viewer_URL(viewer_selector="slim")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

SLIM_BASE = "https://viewer.imaging.datacommons.cancer.gov/slim/studies/"


def slim_links(study: str | None, series: str | None) -> dict[str, str]:
    """``{"slim_study": url, "slim_series": url}`` for a study (and series) UID; {} without."""
    if not study:
        return {}
    base = SLIM_BASE + quote(study, safe="")
    links = {"slim_study": base}
    if series:
        links["slim_series"] = f"{base}/series/{quote(series, safe='')}"
    return links


def viewer_links(record: Mapping[str, Any]) -> list[dict[str, str]]:
    """Viewer links of one file record (IDC files: Slim for its study and series)."""
    if record.get("source") != "IDC":
        return []
    links = slim_links(record.get("StudyInstanceUID"), record.get("SeriesInstanceUID"))
    labels = {"slim_study": "IDC Slim viewer: study", "slim_series": "IDC Slim viewer: series"}
    return [{"kind": k, "label": labels[k], "url": v} for k, v in links.items()]
