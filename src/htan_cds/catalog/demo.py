"""The demo commons: a small HTAN-shaped catalog whose every file has real bytes in the store.

``plan_demo`` decides (deterministically from a seed) the participants, biospecimens and files;
``build_demo`` writes the bytes (images in worker processes), stores them content-addressed and
fills the catalog. Around 40 participants, 120 biospecimens and 300 files across 7 real centers.
"""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from htan_cds.catalog import demo_data as vocab
from htan_cds.catalog import demo_files
from htan_cds.catalog.store import LOCAL_ID_PREFIX, Catalog
from htan_cds.config import DataHome
from htan_cds.storage.local import LocalObjectStore

Progress = Callable[[str, int, int], None]

_IMAGING_FORMATS = {".ome.tif": "OME-TIFF", ".csv": "csv", ".parquet": "parquet"}
_MIME = {
    "OME-TIFF": "image/tiff",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "fastq": "application/gzip",
    "vcf": "text/x-vcf",
}


@dataclass
class PlannedFile:
    """One demo file: how to write its bytes and its catalog rows (minus checksums)."""

    writer: str
    args: dict[str, Any]
    row: dict[str, Any]
    imaging: dict[str, Any] | None = None
    channels: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DemoPlan:
    """Everything the demo commons will hold."""

    participants: list[dict[str, Any]]
    biospecimens: list[dict[str, Any]]
    files: list[PlannedFile]


class _Planner:
    def __init__(self, seed: int, image_size: int) -> None:
        self.rng = random.Random(seed)
        self.image_size = image_size
        self.participants: list[dict[str, Any]] = []
        self.biospecimens: list[dict[str, Any]] = []
        self.files: list[PlannedFile] = []
        self._file_serial: dict[int, int] = {}
        self._t0 = datetime(2024, 3, 1, tzinfo=UTC)

    def drs_id(self) -> str:
        return f"{LOCAL_ID_PREFIX}/{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"

    def file_id(self, center: vocab.CenterSpec, participant: int) -> str:
        serial = self._file_serial.get(center.number, 1000) + 1
        self._file_serial[center.number] = serial
        return f"HTA{center.number}_{participant}_{serial}"

    def plan(self) -> DemoPlan:
        for center in vocab.CENTERS:
            assays = [*center.imaging_assays, *center.sequencing_assays]
            for p in range(1, center.participants + 1):
                organ, diagnosis = center.organs[(p - 1) % len(center.organs)]
                pid = f"HTA{center.number}_{p}"
                release = vocab.DEMO_RELEASES[(p + center.number) % len(vocab.DEMO_RELEASES)]
                self.participants.append(
                    {
                        "HTAN_Participant_ID": pid,
                        "HTAN_Center": center.name,
                        "atlas_name": center.atlas,
                        "Tissue_or_Organ_of_Origin": organ,
                        "Primary_Diagnosis": diagnosis,
                        "Gender": self.rng.choice(vocab.GENDERS),
                        "Race": self.rng.choice(vocab.RACES),
                        "Ethnicity": self.rng.choice(vocab.ETHNICITIES),
                        "Age_at_Diagnosis_years": self.rng.randint(34, 82),
                        "Vital_Status": self.rng.choice(vocab.VITAL),
                    }
                )
                for b in range(1, 4):
                    bid = f"{pid}_{b}"
                    self.biospecimens.append(
                        {
                            "HTAN_Biospecimen_ID": bid,
                            "HTAN_Participant_ID": pid,
                            "HTAN_Parent_ID": pid,
                            "Biospecimen_Type": vocab.BIOSPECIMEN_TYPES[0],
                            "Tissue_or_Organ_of_Origin": organ,
                            "Preservation_Method": self.rng.choice(vocab.PRESERVATION),
                            "HTAN_Center": center.name,
                        }
                    )
                    assay = assays[(p + b) % len(assays)]
                    base = {
                        "HTAN_Center": center.name,
                        "atlas_name": center.atlas,
                        "HTAN_Participant_ID": pid,
                        "biospecimen_ids": [bid],
                        "Data_Release": release,
                        "Tissue_or_Organ_of_Origin": organ,
                        "Primary_Diagnosis": diagnosis,
                        "assay": assay,
                    }
                    if assay in center.imaging_assays:
                        self._plan_imaging(center, p, bid, assay, base)
                    else:
                        self._plan_sequencing(center, p, bid, assay, base)
        return DemoPlan(self.participants, self.biospecimens, self.files)

    def _add(
        self,
        center: vocab.CenterSpec,
        participant: int,
        writer: str,
        args: dict[str, Any],
        base: dict[str, Any],
        *,
        name: str,
        folder: str,
        level: str,
        component: str,
        file_format: str,
        parents: list[str] | None = None,
        controlled: bool = False,
    ) -> PlannedFile:
        created = self._t0 + timedelta(hours=len(self.files) * 7)
        row = {
            **base,
            "drs_id": self.drs_id(),
            "HTAN_Data_File_ID": self.file_id(center, participant),
            "entityId": f"syn{26_000_000 + len(self.files) * 37}",
            "Filename": f"{folder}/{name}",
            "name": name,
            "mime_type": _MIME.get(file_format, "application/octet-stream"),
            "Component": component,
            "level": level,
            "File_Format": file_format,
            "HTAN_Parent_Data_File_ID": parents,
            "access": "controlled" if controlled else "open",
            "consent_group": vocab.CONTROLLED_CONSENT_GROUP if controlled else None,
            "created_time": created.replace(tzinfo=None),
        }
        planned = PlannedFile(writer, args, row)
        self.files.append(planned)
        return planned

    def _plan_imaging(
        self,
        center: vocab.CenterSpec,
        p: int,
        bid: str,
        assay: str,
        base: dict[str, Any],
    ) -> None:
        he = assay == "H&E"
        # A few large images show 3-level pyramids; most stay small so the build is fast.
        size = self.image_size * (2 if not he and self.rng.random() < 0.08 else 1)
        width = size + self.rng.randrange(0, 64, 16)
        height = size
        if he:
            panel = [(c, "", "", "") for c in vocab.HE_CHANNELS]
        else:
            panel = demo_files.marker_panel(self.rng.randint(4, 7), self.rng.randrange(100))
        names = [c[0] for c in panel]
        stem = f"{bid}_{assay.replace('&', '').replace('-', '')}"
        levels = 3 if size >= 1024 else 2
        pixel_type = "uint8" if he else "uint16"
        seed = self.rng.getrandbits(31)
        physical = 0.65 if not he else 0.5
        channel_csv = f"{stem}_channels.csv"
        image = self._add(
            center,
            p,
            "write_image",
            {
                "width": width,
                "height": height,
                "channel_names": names,
                "levels": levels,
                "pixel_type": pixel_type,
                "seed": seed,
                "physical_size_um": physical,
            },
            base,
            name=f"{stem}.ome.tif",
            folder="imaging_level_2",
            level="Level 2",
            component="ImagingLevel2",
            file_format="OME-TIFF",
        )
        microscope, objective, magnification = vocab.MICROSCOPES[assay]
        image.imaging = {
            "SizeX": width,
            "SizeY": height,
            "SizeZ": 1,
            "SizeC": len(names),
            "SizeT": 1,
            "PhysicalSizeX": physical,
            "PhysicalSizeXUnit": "µm",
            "PhysicalSizeY": physical,
            "PhysicalSizeYUnit": "µm",
            "DimensionOrder": "XYCZT",
            "PixelType": pixel_type,
            "Pyramid": True,
            "PyramidLevels": levels,
            "TileSizeX": 256,
            "TileSizeY": 256,
            "Compression": "zlib",
            "Microscope": microscope,
            "Objective": objective,
            "NominalMagnification": magnification,
            "Imaging_Assay_Type": assay,
        }
        image.channels = [
            {
                "channel_index": i,
                "Channel_ID": f"Channel:0:{i}",
                "Channel_Name": name,
                "Target": target or None,
                "Antibody_Name": antibody or None,
                "Fluorophore": fluor or None,
                "Cycle_Number": i // 4 + 1,
                "Color": vocab.CHANNEL_COLORS[i % len(vocab.CHANNEL_COLORS)],
            }
            for i, (name, target, antibody, fluor) in enumerate(panel)
        ]
        if he:
            return
        image.row["Channel_Metadata_Filename"] = f"imaging_level_2/{channel_csv}"
        l2_id = image.row["HTAN_Data_File_ID"]
        self._add(
            center,
            p,
            "write_channel_csv",
            {"channels": panel},
            base,
            name=channel_csv,
            folder="imaging_level_2",
            level="Auxiliary",
            component="ImagingLevel2ChannelMetadata",
            file_format="csv",
            parents=[l2_id],
        )
        if self.rng.random() < 0.25:
            return
        mask = self._add(
            center,
            p,
            "write_mask",
            {"width": width, "height": height, "seed": seed},
            base,
            name=f"{stem}_cellMask.ome.tif",
            folder="imaging_level_3",
            level="Level 3",
            component="ImagingLevel3Segmentation",
            file_format="OME-TIFF",
            parents=[l2_id],
        )
        suffix = ".parquet" if self.rng.random() < 0.4 else ".csv"
        self._add(
            center,
            p,
            "write_features",
            {"markers": names, "cells": self.rng.randint(150, 400), "seed": seed},
            base,
            name=f"{stem}_features{suffix}",
            folder="imaging_level_4",
            level="Level 4",
            component="ImagingLevel4",
            file_format=suffix.lstrip("."),
            parents=[mask.row["HTAN_Data_File_ID"]],
        )

    def _plan_sequencing(
        self,
        center: vocab.CenterSpec,
        p: int,
        bid: str,
        assay: str,
        base: dict[str, Any],
    ) -> None:
        seed = self.rng.getrandbits(31)
        reads: list[PlannedFile] = []
        for read in ("R1", "R2"):
            reads.append(
                self._add(
                    center,
                    p,
                    "write_fastq",
                    {"reads": 200, "seed": seed + len(reads)},
                    base,
                    name=f"{bid}_S1_{read}_001.fastq.gz",
                    folder=f"{assay.lower().replace(' ', '_')}_level_1",
                    level="Level 1",
                    component=vocab.COMPONENTS[(assay, "Level 1")],
                    file_format="fastq",
                    controlled=True,
                )
            )
        parents = [r.row["HTAN_Data_File_ID"] for r in reads]
        if assay == "Bulk WES":
            self._add(
                center,
                p,
                "write_vcf",
                {"variants": 120, "seed": seed},
                base,
                name=f"{bid}_somatic.vcf",
                folder="bulk_wes_level_3",
                level="Level 3",
                component=vocab.COMPONENTS[(assay, "Level 3")],
                file_format="vcf",
                parents=parents,
                controlled=True,
            )
            return
        counts = self._add(
            center,
            p,
            "write_counts",
            {"cells": 60, "seed": seed},
            base,
            name=f"{bid}_counts.csv",
            folder="scrna-seq_level_3",
            level="Level 3",
            component=vocab.COMPONENTS[(assay, "Level 3")],
            file_format="csv",
            parents=parents,
        )
        self._add(
            center,
            p,
            "write_clusters",
            {"cells": 60, "seed": seed},
            base,
            name=f"{bid}_clusters.csv",
            folder="scrna-seq_level_4",
            level="Level 4",
            component=vocab.COMPONENTS[(assay, "Level 4")],
            file_format="csv",
            parents=[counts.row["HTAN_Data_File_ID"]],
        )


def plan_demo(seed: int = 0, image_size: int = 512) -> DemoPlan:
    """The demo commons' content, the same for the same ``seed`` and ``image_size``."""
    return _Planner(seed, image_size).plan()


def _write_one(index: int, writer: str, path: str, args: dict[str, Any]) -> int:
    getattr(demo_files, writer)(path, **args)
    return index


def build_demo(
    home: DataHome,
    *,
    port: int = 8000,
    seed: int = 0,
    image_size: int = 512,
    workers: int = 2,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Replace the catalog in ``home`` with the demo commons; return its summary."""
    plan = plan_demo(seed, image_size)
    report = progress or (lambda stage, done, total: None)
    staging = home.root / ".demo-staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    paths = [staging / f"{i:04d}-{f.row['name']}" for i, f in enumerate(plan.files)]
    total = len(plan.files)
    try:
        _write_all(plan, paths, workers, report)
        store = LocalObjectStore(home.objects_dir)
        for i, (planned, path) in enumerate(zip(plan.files, paths, strict=True)):
            controlled = str(planned.row.get("access") or "open").lower() != "open"
            stored = store.put_file(path, private=controlled)
            planned.row.update(
                size=stored.size, md5=stored.md5, sha256=stored.sha256, object_key=stored.key
            )
            _read_imaging(planned, path)
            report("Storing objects", i + 1, total)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    report("Writing the catalog", 0, 1)
    with Catalog.open(home) as catalog:
        fill_catalog(catalog, plan)
        catalog.set_meta("drs_authority", f"127.0.0.1:{port}")
        catalog.set_meta("commons_name", "HTAN demo commons (synthetic data)")
        catalog.set_meta("source", f"demo seed={seed}")
        catalog.set_meta("built_at", datetime.now(UTC).isoformat(timespec="seconds"))
        summary = catalog.summary()
        summary["biospecimens"] = len(plan.biospecimens)
    report("Writing the catalog", 1, 1)
    return summary


def _write_all(plan: DemoPlan, paths: list[Path], workers: int, report: Progress) -> None:
    total = len(plan.files)
    done = 0
    heavy = [i for i, f in enumerate(plan.files) if f.writer in ("write_image", "write_mask")]
    light = [i for i in range(total) if i not in set(heavy)]
    # Images dominate the build time; spread them over processes, write the rest inline.
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [
            pool.submit(_write_one, i, plan.files[i].writer, str(paths[i]), plan.files[i].args)
            for i in heavy
        ]
        for i in light:
            _write_one(i, plan.files[i].writer, str(paths[i]), plan.files[i].args)
            done += 1
            report("Writing files", done, total)
        for future in as_completed(futures):
            future.result()
            done += 1
            report("Writing files", done, total)


def _read_imaging(planned: PlannedFile, path: Path) -> None:
    """Prefer what the imaging area reads from the file over what the plan intended."""
    if planned.imaging is None:
        return
    try:
        from htan_cds.imaging import read_image_info  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return
    try:
        info = read_image_info(path).to_catalog_row()
    except Exception:  # the planned values stay; a reader bug must not break the demo
        return
    for key, value in dict(info).items():
        if key in planned.imaging and value is not None:
            planned.imaging[key] = value


def fill_catalog(catalog: Catalog, plan: DemoPlan) -> None:
    """Replace the catalog's rows with ``plan`` (checksums must already be filled in)."""
    catalog.clear()
    catalog.insert_rows("participants", plan.participants)
    catalog.insert_rows("biospecimens", plan.biospecimens)
    catalog.insert_rows("files", [f.row for f in plan.files])
    catalog.insert_rows(
        "file_biospecimens",
        [
            {"drs_id": f.row["drs_id"], "HTAN_Biospecimen_ID": b}
            for f in plan.files
            for b in f.row["biospecimen_ids"]
        ],
    )
    catalog.insert_rows(
        "imaging",
        [{"drs_id": f.row["drs_id"], **f.imaging} for f in plan.files if f.imaging is not None],
    )
    catalog.insert_rows(
        "channels",
        [{"drs_id": f.row["drs_id"], **c} for f in plan.files for c in f.channels],
    )
    catalog.refresh_derived()
