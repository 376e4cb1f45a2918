"""Automatic display ranges: percentiles of the smallest pyramid level, per channel, computed
once and only for the channels asked for, kept on disk by content."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import numpy as np
import tifffile
from fastapi.testclient import TestClient

from htan_cds.imaging.readers import open_reader
from htan_cds.imaging.tiles import AutoRanges
from tests.viewer._commons import ViewerCommons


def test_auto_range_is_the_percentiles_of_the_smallest_level(viewer_images: Path) -> None:
    path = viewer_images / "mif.ome.tif"
    with tifffile.TiffFile(path) as tf:
        smallest = tf.series[0].levels[-1].asarray()
    reader = open_reader(path)
    try:
        ranges = AutoRanges().get(reader, [4])
    finally:
        reader.close()
    lo, hi = np.percentile(smallest[4], (1.0, 99.5))
    assert ranges == {4: (float(lo), float(hi))}


def test_ranges_are_computed_once_per_channel_and_kept(viewer_images: Path) -> None:
    saved: list[dict[int, tuple[float, float]]] = []
    auto = AutoRanges(load=lambda: None, save=lambda r: saved.append(dict(r)))
    reader = open_reader(viewer_images / "cycif.ome.tif")
    try:
        first = auto.get(reader, [40, 2])
        assert set(first) == {40, 2} and len(saved) == 1 and set(saved[0]) == {2, 40}
        before = reader.stats.segments
        assert auto.get(reader, [2]) == {2: first[2]}
        assert reader.stats.segments == before and len(saved) == 1  # nothing recomputed
        assert len(auto.get(reader)) == 44
    finally:
        reader.close()


def test_server_keeps_ranges_by_content(client: TestClient, viewer_commons: ViewerCommons) -> None:
    entry = viewer_commons.entries["mif"]
    doc = client.get("/iiif/3/" + quote(entry.drs_id, safe="") + "/channels.json").json()
    kept = list((viewer_commons.home.thumbnails_dir / "ranges").glob("*.json"))
    assert kept, "no ranges file in the data home"
    stored = [json.loads(p.read_text())["ranges"] for p in kept]
    assert any(str(len(doc["channels"]) - 1) in r for r in stored)
