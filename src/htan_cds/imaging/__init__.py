"""Imaging: OME-TIFF/SVS metadata, range-read previews, thumbnails, synthetic test images.

Public names are loaded lazily so that importing the package (e.g. from the CLI) does not pull
in numpy, tifffile or ome-types until they are used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "write_synthetic_ome_tiff": "htan_cds.imaging.synthetic",
    "write_synthetic_he_tiff": "htan_cds.imaging.synthetic",
    "ImageInfo": "htan_cds.imaging.model",
    "Channel": "htan_cds.imaging.model",
    "Level": "htan_cds.imaging.model",
    "read_image_info": "htan_cds.imaging.info",
    "read_image_info_async": "htan_cds.imaging.info",
    "render_preview": "htan_cds.imaging.preview",
    "render_preview_async": "htan_cds.imaging.preview",
    "thumbnail_path": "htan_cds.imaging.thumbnails",
    "ensure_thumbnail": "htan_cds.imaging.thumbnails",
    "open_array": "htan_cds.imaging.array",
    "open_pyramid": "htan_cds.imaging.array",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'htan_cds.imaging' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
