"""What we know about an image: sizes, channels, pyramid levels (plain dataclasses, no I/O)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# Column order of the catalog's ``imaging`` table (src/htan_cds/catalog/schema.py).
IMAGING_COLUMNS = (
    "drs_id",
    "SizeX",
    "SizeY",
    "SizeZ",
    "SizeC",
    "SizeT",
    "PhysicalSizeX",
    "PhysicalSizeXUnit",
    "PhysicalSizeY",
    "PhysicalSizeYUnit",
    "PhysicalSizeZ",
    "PhysicalSizeZUnit",
    "DimensionOrder",
    "PixelType",
    "Pyramid",
    "PyramidLevels",
    "TileSizeX",
    "TileSizeY",
    "Compression",
    "Microscope",
    "Objective",
    "NominalMagnification",
    "Imaging_Assay_Type",
)

# Column order of the catalog's ``channels`` table.
CHANNEL_COLUMNS = (
    "drs_id",
    "channel_index",
    "Channel_ID",
    "Channel_Name",
    "Target",
    "Antibody_Name",
    "Fluorophore",
    "Cycle_Number",
    "Color",
)


@dataclass
class Channel:
    """One channel of an image; ``color`` is ``#rrggbb`` (display colour) or None."""

    index: int
    id: str | None = None
    name: str | None = None
    color: str | None = None
    samples_per_pixel: int = 1
    fluorophore: str | None = None
    target: str | None = None
    antibody_name: str | None = None
    cycle_number: int | None = None
    excitation_wavelength: float | None = None
    emission_wavelength: float | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The best human name: the channel name, else the target, else ``Channel i``."""
        return self.name or self.target or f"Channel {self.index}"

    def to_catalog_row(self, drs_id: str | None = None) -> dict[str, Any]:
        """A row for the catalog's ``channels`` table."""
        return {
            "drs_id": drs_id,
            "channel_index": self.index,
            "Channel_ID": self.id,
            "Channel_Name": self.name,
            "Target": self.target,
            "Antibody_Name": self.antibody_name,
            "Fluorophore": self.fluorophore,
            "Cycle_Number": self.cycle_number,
            "Color": self.color,
        }


@dataclass
class Level:
    """One resolution level of a pyramid (level 0 is full resolution)."""

    index: int
    width: int
    height: int
    downsample: float
    tile_width: int | None = None
    tile_height: int | None = None


@dataclass
class ImageInfo:
    """Metadata of one image file, from its OME-XML (or SVS description) and TIFF structure."""

    source: str
    format: str  # 'ome-tiff' | 'svs' | 'tiff'
    size_x: int
    size_y: int
    size_z: int = 1
    size_c: int = 1
    size_t: int = 1
    pixel_type: str = "uint8"
    dimension_order: str = "XYCZT"
    rgb: bool = False
    physical_size_x: float | None = None
    physical_size_x_unit: str | None = None
    physical_size_y: float | None = None
    physical_size_y_unit: str | None = None
    physical_size_z: float | None = None
    physical_size_z_unit: str | None = None
    channels: list[Channel] = field(default_factory=list)
    levels: list[Level] = field(default_factory=list)
    pyramid_layout: str = "none"  # 'subifd' | 'pages' | 'none'
    tile_width: int | None = None
    tile_height: int | None = None
    compression: str | None = None
    bigtiff: bool = False
    file_size: int | None = None
    image_name: str | None = None
    image_count: int = 1
    acquisition_date: str | None = None
    microscope: str | None = None
    objective: str | None = None
    nominal_magnification: float | None = None
    creator: str | None = None
    assay_type: str | None = None
    warnings: list[str] = field(default_factory=list)
    bytes_read: int | None = None
    requests: int | None = None

    @property
    def is_pyramid(self) -> bool:
        return len(self.levels) > 1

    def to_catalog_row(self, drs_id: str | None = None) -> dict[str, Any]:
        """A row for the catalog's ``imaging`` table (HTAN Imaging Level 2 attribute names)."""
        return {
            "drs_id": drs_id,
            "SizeX": self.size_x,
            "SizeY": self.size_y,
            "SizeZ": self.size_z,
            "SizeC": self.size_c,
            "SizeT": self.size_t,
            "PhysicalSizeX": self.physical_size_x,
            "PhysicalSizeXUnit": self.physical_size_x_unit,
            "PhysicalSizeY": self.physical_size_y,
            "PhysicalSizeYUnit": self.physical_size_y_unit,
            "PhysicalSizeZ": self.physical_size_z,
            "PhysicalSizeZUnit": self.physical_size_z_unit,
            "DimensionOrder": self.dimension_order,
            "PixelType": self.pixel_type,
            "Pyramid": self.is_pyramid,
            "PyramidLevels": len(self.levels) or 1,
            "TileSizeX": self.tile_width,
            "TileSizeY": self.tile_height,
            "Compression": self.compression,
            "Microscope": self.microscope,
            "Objective": self.objective,
            "NominalMagnification": self.nominal_magnification,
            "Imaging_Assay_Type": self.assay_type,
        }

    def channel_rows(self, drs_id: str | None = None) -> list[dict[str, Any]]:
        """Rows for the catalog's ``channels`` table."""
        return [c.to_catalog_row(drs_id) for c in self.channels]

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (``htan-cds info --json``)."""
        data = dataclasses.asdict(self)
        data["pyramid"] = self.is_pyramid
        return data
