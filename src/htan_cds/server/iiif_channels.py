"""What the viewer needs to know about an image's channels: names (OME-XML, joined with the
channel metadata CSV the catalog names when its bytes are stored here), colours, automatic
ranges, pixel limits, physical pixel size. Served as ``/iiif/3/{id}/channels.json``."""

from __future__ import annotations

import copy
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from htan_cds.errors import HtanCdsError
from htan_cds.imaging.display import default_color, dtype_limits
from htan_cds.imaging.model import ImageInfo
from htan_cds.imaging.preview import DEFAULT_CHANNELS
from htan_cds.server.image_readers import OpenImage, ReaderCache

_log = logging.getLogger("htan_cds.viewer")
# OME length units (UnitsLength) in micrometres; "pixel"/"reference frame" have no physical size.
_UM = {"µm": 1.0, "um": 1.0, "micron": 1.0, "nm": 1e-3, "Å": 1e-4, "mm": 1e3, "cm": 1e4, "m": 1e6}


def um_per_pixel(value: float | None, unit: str | None) -> float | None:
    """A physical pixel size in µm (OME's default unit is µm), or None when unknown."""
    if value is None or value <= 0:
        return None
    factor = _UM.get((unit or "µm").strip())
    return value * factor if factor is not None else None


def _channel_table(app: Any, drs_id: str) -> Path | None:
    """The stored channel metadata CSV the catalog names for ``drs_id``, if any."""
    portal = getattr(app.state, "portal", None)
    if portal is None:
        return None
    from htan_cds.storage.local import LocalObjectStore

    try:
        with portal.lease.use() as catalog:
            row = catalog.get_file(drs_id)
            filename = (row or {}).get("Channel_Metadata_Filename")
            if not filename:
                return None
            with catalog.cursor() as cur:
                found = cur.execute(
                    "SELECT object_key FROM files WHERE object_key IS NOT NULL "
                    "AND (Filename = ? OR name = ?) LIMIT 1",
                    [str(filename), str(filename).rsplit("/", 1)[-1]],
                ).fetchone()
    except HtanCdsError as exc:  # opportunistic: names from the OME-XML still work
        _log.info("no channel table for %s: %s", drs_id, exc)
        return None
    if not found:
        return None
    store = app.state.config.store
    if store and "://" in store:
        return None
    root = Path(store).expanduser() if store else app.state.config.home.objects_dir
    path = LocalObjectStore(root).path_for(str(found[0]))
    return path if path.is_file() else None


def named_info(app: Any, item: OpenImage, drs_id: str) -> ImageInfo:
    """The reader's ImageInfo with channel names joined from the channel CSV (once per reader)."""
    if item.named_info is not None:
        return item.named_info  # type: ignore[no-any-return]
    info = item.reader.info
    table = None if info.rgb else _channel_table(app, drs_id)
    if table is not None:
        from htan_cds.imaging.channels_csv import join_channels, read_channel_table

        info = copy.deepcopy(info)
        try:
            join_channels(info, read_channel_table(table), source=table.name)
        except HtanCdsError as exc:
            _log.info("channel table of %s not joined: %s", drs_id, exc)
            info = item.reader.info
    item.named_info = info
    return info


def channels_document(app: Any, item: OpenImage, drs_id: str, service_id: str) -> dict[str, Any]:
    """The viewer's view of an image: channels with names, colours and ranges; pixel size."""
    reader = item.reader
    info = named_info(app, item, drs_id)
    ranges = ReaderCache.ranges(item)
    low, high = dtype_limits(reader.dtype)
    count = reader.channel_count
    integer = np.issubdtype(reader.dtype, np.integer)
    channels = []
    if not reader.rgb:
        for i in range(count):
            ch = info.channels[i] if i < len(info.channels) else None
            auto = ranges.get(i, (low, high))
            if integer:  # whole pixel values: sliders and URLs stay readable
                auto = (float(math.floor(auto[0])), float(math.ceil(auto[1])))
            channels.append(
                {
                    "index": i,
                    "name": ch.label if ch else f"Channel {i}",
                    "target": ch.target if ch else None,
                    "color": "{:02x}{:02x}{:02x}".format(
                        *default_color(info, i, i, min(count, DEFAULT_CHANNELS))
                    ),
                    "auto": [auto[0], auto[1]],
                }
            )
    return {
        "id": service_id,
        "name": info.image_name,
        "rgb": reader.rgb,
        "pixel_type": reader.dtype.name,
        "limits": [low, high],
        "width": info.levels[0].width if info.levels else info.size_x,
        "height": info.levels[0].height if info.levels else info.size_y,
        "size_z": info.size_z,
        "size_t": info.size_t,
        "physical_size_x": info.physical_size_x,
        "physical_size_x_unit": info.physical_size_x_unit,
        "um_per_pixel_x": um_per_pixel(info.physical_size_x, info.physical_size_x_unit),
        "um_per_pixel_y": um_per_pixel(info.physical_size_y, info.physical_size_y_unit),
        "levels": [
            {"width": lv.width, "height": lv.height, "downsample": lv.downsample}
            for lv in info.levels
        ],
        "channels": channels,
        "default_channels": [c["index"] for c in channels[:DEFAULT_CHANNELS]],
    }
