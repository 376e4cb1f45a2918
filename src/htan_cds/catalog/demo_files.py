"""Writers for the demo commons' file bytes: images, masks, channel CSVs, feature tables, reads.

Each writer is a top-level function taking plain arguments so it can run in a worker process.
Pyramidal OME-TIFFs come from the imaging area's ``write_synthetic_ome_tiff``; when that module
is not installed yet a small tifffile-based stand-in with the same signature is used.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import random
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from htan_cds.catalog.demo_data import GENES, MARKERS


def _ome_uuid(seed: int, *parts: object) -> str:
    # tifffile's default OME UUID is a fresh uuid1: one from the seed keeps rebuilds identical.
    name = " ".join(str(p) for p in ("htan-cds demo", seed, *parts))
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def write_image(
    path: str,
    width: int,
    height: int,
    channel_names: Sequence[str],
    levels: int,
    pixel_type: str,
    seed: int,
    physical_size_um: float = 0.65,
) -> None:
    """A pyramidal multi-channel OME-TIFF with tissue-like content."""
    kwargs: dict[str, Any] = {
        "width": width,
        "height": height,
        "channel_names": list(channel_names),
        "tile": 256,
        "levels": levels,
        "physical_size_um": physical_size_um,
        "pixel_type": pixel_type,
        "seed": seed,
    }
    try:
        from htan_cds.imaging.synthetic import write_synthetic_ome_tiff
    except ImportError:
        _fallback_ome_tiff(Path(path), **kwargs)
        return
    try:
        write_synthetic_ome_tiff(Path(path), **kwargs)
    except Exception as exc:
        # The demo must build even while the imaging writer is broken; say so, keep going.
        logging.getLogger(__name__).warning(
            "imaging writer failed (%s); using the catalog's stand-in image", exc
        )
        _fallback_ome_tiff(Path(path), **kwargs)


def _fallback_ome_tiff(
    path: Path,
    *,
    width: int,
    height: int,
    channel_names: list[str],
    tile: int = 256,
    levels: int = 2,
    physical_size_um: float = 0.65,
    pixel_type: str = "uint16",
    seed: int = 0,
) -> None:
    """Stand-in for ``htan_cds.imaging.synthetic.write_synthetic_ome_tiff`` (same signature)."""
    import numpy as np
    import tifffile

    rng = np.random.default_rng(seed)
    dtype = np.dtype(pixel_type)
    top = 255 if dtype == np.uint8 else 4000
    nuclei = _nuclei_field(rng, height, width)
    data = np.empty((len(channel_names), height, width), dtype=dtype)
    for c in range(len(channel_names)):
        weight = rng.uniform(0.2, 1.0)
        # Coarse noise keeps the stand-in's files small (deflate cannot shrink fine noise).
        noise = np.repeat(np.repeat(rng.random((height // 8 + 1, width // 8 + 1)), 8, 0), 8, 1)
        signal = nuclei * weight + noise[:height, :width] * 0.1
        data[c] = (np.clip(signal, 0, 1) * top).astype(dtype) & ~np.array(15, dtype=dtype)
    metadata = {
        "axes": "CYX",
        "Channel": {"Name": list(channel_names)},
        "PhysicalSizeX": physical_size_um,
        "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": physical_size_um,
        "PhysicalSizeYUnit": "µm",
        "UUID": _ome_uuid(seed, width, height, len(channel_names)),
    }
    with tifffile.TiffWriter(path, bigtiff=False, ome=True) as tif:
        opts: dict[str, Any] = {"tile": (tile, tile), "compression": "zlib"}
        tif.write(data, subifds=levels - 1, metadata=metadata, **opts)
        level = data
        for _ in range(levels - 1):
            level = level[:, ::2, ::2]
            tif.write(level, subfiletype=1, **opts)


def _nuclei_field(rng: Any, height: int, width: int) -> Any:
    """Bright round blobs on a dim background, roughly like stained nuclei."""
    import numpy as np

    field = np.zeros((height, width), dtype=np.float32)
    yy, xx = np.mgrid[-5:6, -5:6]
    disk = np.exp(-(xx**2 + yy**2) / 12.0).astype(np.float32)
    count = (height * width) // 400
    ys = rng.integers(0, height - 11, count)
    xs = rng.integers(0, width - 11, count)
    for y, x in zip(ys, xs, strict=True):
        field[y : y + 11, x : x + 11] += disk
    result: Any = np.clip(field, 0, 1)
    return result


def write_mask(path: str, width: int, height: int, seed: int) -> None:
    """A Level 3 segmentation mask: a labelled cell grid inside a tissue-shaped region."""
    import numpy as np
    import tifffile

    rng = np.random.default_rng(seed)
    cell = 12
    yy, xx = np.mgrid[0:height, 0:width]
    labels = (yy // cell) * (width // cell + 1) + (xx // cell) + 1
    cy, cx = height / 2, width / 2
    radius = min(height, width) * rng.uniform(0.35, 0.48)
    inside = (yy - cy) ** 2 + (xx - cx) ** 2 < radius**2
    border = ((yy % cell) == 0) | ((xx % cell) == 0)
    mask = np.where(inside & ~border, labels, 0).astype(np.uint32)
    metadata = {
        "axes": "YX",
        "Channel": {"Name": ["cell_mask"]},
        "UUID": _ome_uuid(seed, "mask", width, height),
    }
    with tifffile.TiffWriter(path, ome=True) as tif:
        tif.write(mask, tile=(256, 256), compression="zlib", metadata=metadata)


def write_channel_csv(path: str, channels: Sequence[tuple[str, str, str, str]]) -> None:
    """The Level 2 channel metadata CSV (HTAN column names)."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["Channel ID", "Channel Name", "Target Name", "Antibody Name", "Fluorophore", "Cycle"]
        )
        for i, (name, target, antibody, fluor) in enumerate(channels):
            writer.writerow([f"Channel:0:{i}", name, target, antibody, fluor, i // 4 + 1])


def write_features(path: str, markers: Sequence[str], cells: int, seed: int) -> None:
    """A Level 4 single-cell feature table (CSV or Parquet by suffix), as MCMICRO writes it."""
    rng = random.Random(seed)
    columns: dict[str, list[float | int]] = {"CellID": list(range(1, cells + 1))}
    for marker in markers:
        columns[marker] = [round(rng.lognormvariate(6, 0.8), 2) for _ in range(cells)]
    columns["X_centroid"] = [round(rng.uniform(0, 512), 1) for _ in range(cells)]
    columns["Y_centroid"] = [round(rng.uniform(0, 512), 1) for _ in range(cells)]
    columns["Area"] = [rng.randint(40, 220) for _ in range(cells)]
    if path.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(columns), path)
        return
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        writer.writerows(zip(*columns.values(), strict=True))


def write_fastq(path: str, reads: int, seed: int) -> None:
    """A gzipped FASTQ of random 50 bp reads (gzip mtime fixed so bytes are reproducible)."""
    rng = random.Random(seed)
    buf = io.StringIO()
    for i in range(reads):
        seq = "".join(rng.choice("ACGT") for _ in range(50))
        buf.write(f"@DEMO:{seed}:{i} 1:N:0\n{seq}\n+\n{'F' * 50}\n")
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(buf.getvalue().encode())


def write_counts(path: str, cells: int, seed: int) -> None:
    """A Level 3 gene x cell count matrix as CSV."""
    rng = random.Random(seed)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["gene", *(f"cell_{i}" for i in range(cells))])
        for gene in GENES:
            writer.writerow([gene, *(rng.choice((0, 0, 0, 1, 2, 5)) for _ in range(cells))])


def write_clusters(path: str, cells: int, seed: int) -> None:
    """A Level 4 cell-type assignment table."""
    rng = random.Random(seed)
    types = ("Epithelial", "T cell", "B cell", "Myeloid", "Fibroblast", "Endothelial")
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["cell", "cluster", "cell_type", "UMAP_1", "UMAP_2"])
        for i in range(cells):
            k = rng.randrange(len(types))
            writer.writerow(
                [f"cell_{i}", k, types[k], round(rng.gauss(k, 1), 3), round(rng.gauss(-k, 1), 3)]
            )


def write_vcf(path: str, variants: int, seed: int) -> None:
    """A Level 3 somatic variant call file (VCF 4.2)."""
    rng = random.Random(seed)
    lines = [
        "##fileformat=VCFv4.2",
        "##source=htan-cds-demo",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    for _ in range(variants):
        ref, alt = rng.sample("ACGT", 2)
        chrom = rng.randint(1, 22)
        lines.append(f"chr{chrom}\t{rng.randint(10_000, 10**8)}\t.\t{ref}\t{alt}\t60\tPASS\t.")
    Path(path).write_text("\n".join(lines) + "\n")


def marker_panel(count: int, offset: int) -> list[tuple[str, str, str, str]]:
    """``count`` channels: DNA first, then antibodies rotated by ``offset`` for variety."""
    others = list(MARKERS[1:])
    shift = offset % len(others)
    return [MARKERS[0], *(others[shift:] + others[:shift])[: count - 1]]
