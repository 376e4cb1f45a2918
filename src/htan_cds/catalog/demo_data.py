"""Vocabularies and identifier patterns for the demo commons, following the HTAN data model.

The id patterns are the validation rules of ``HTAN.model.csv`` (``HTAN Participant ID``,
``HTAN Biospecimen ID``, ``HTAN Data File ID``); centers carry their real HTAN numbers, and
the organ/diagnosis/assay pairings follow what each center actually published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# From HTAN.model.csv validation rules ("regex match ..."): participant, and biospecimen/file.
PARTICIPANT_ID_RE = re.compile(r"^(HTA([1-9]|1[0-6]))_((EXT)?([0-9]\d*|0000))$")
BIOSPECIMEN_ID_RE = re.compile(r"^(HTA([1-9]|1[0-6]))_((EXT)?([0-9]\d*|0000))_([0-9]\d*|0000)$")
DATA_FILE_ID_RE = BIOSPECIMEN_ID_RE

# Controlled-access files in HTAN sit under dbGaP study phs002371.
CONTROLLED_CONSENT_GROUP = "phs002371"
DEMO_RELEASES = ("Release 3.0", "Release 4.0", "Release 5.0")


@dataclass(frozen=True)
class CenterSpec:
    """One HTAN center: its number in ids, its atlas, what tissue it studies and with what."""

    name: str
    number: int
    atlas: str
    organs: tuple[tuple[str, str], ...]  # (Tissue or Organ of Origin, Primary Diagnosis)
    imaging_assays: tuple[str, ...]
    sequencing_assays: tuple[str, ...]
    participants: int


CENTERS: tuple[CenterSpec, ...] = (
    CenterSpec(
        "HTAN HTAPP",
        1,
        "HTAN HTAPP",
        (
            ("Breast, NOS", "Infiltrating duct carcinoma, NOS"),
            ("Lung, NOS", "Small cell carcinoma, NOS"),
        ),
        ("CODEX", "MIBI"),
        ("scRNA-seq",),
        6,
    ),
    CenterSpec(
        "HTAN BU",
        3,
        "HTAN BU",
        (("Lung, NOS", "Squamous cell carcinoma in situ, NOS"),),
        ("H&E",),
        ("scRNA-seq", "Bulk WES"),
        5,
    ),
    CenterSpec(
        "HTAN HMS",
        7,
        "HTAN HMS",
        (
            ("Skin of trunk", "Malignant melanoma, NOS"),
            ("Colon, NOS", "Adenocarcinoma, NOS"),
        ),
        ("t-CyCIF", "H&E"),
        (),
        7,
    ),
    CenterSpec(
        "HTAN OHSU",
        9,
        "HTAN OHSU",
        (("Breast, NOS", "Lobular carcinoma, NOS"),),
        ("CyCIF", "mIHC", "H&E"),
        ("Bulk WES",),
        6,
    ),
    CenterSpec(
        "HTAN Vanderbilt",
        11,
        "HTAN Vanderbilt",
        (("Colon, NOS", "Adenomatous polyp, NOS"),),
        ("MxIF", "H&E"),
        ("scRNA-seq",),
        5,
    ),
    CenterSpec(
        "HTAN WUSTL",
        12,
        "HTAN WUSTL",
        (("Pancreas, NOS", "Infiltrating duct carcinoma, NOS"),),
        ("IMC", "H&E"),
        ("scRNA-seq",),
        5,
    ),
    CenterSpec(
        "HTAN TNP SARDANA",
        13,
        "HTAN TNP SARDANA",
        (("Colon, NOS", "Adenocarcinoma, NOS"),),
        ("t-CyCIF", "H&E"),
        (),
        6,
    ),
)

# Antibody panels: (Channel Name, Target, Antibody clone, Fluorophore). DNA first, as in CyCIF.
MARKERS: tuple[tuple[str, str, str, str], ...] = (
    ("DNA_1", "DNA", "Hoechst 33342", "Hoechst"),
    ("CD45", "PTPRC", "D9M8I", "Alexa Fluor 488"),
    ("PanCK", "KRT", "AE1/AE3", "Alexa Fluor 555"),
    ("CD3E", "CD3E", "D7A6E", "Alexa Fluor 647"),
    ("CD8A", "CD8A", "C8/144B", "Alexa Fluor 488"),
    ("CD4", "CD4", "EPR6855", "Alexa Fluor 555"),
    ("FOXP3", "FOXP3", "236A/E7", "Alexa Fluor 647"),
    ("CD68", "CD68", "KP1", "Alexa Fluor 488"),
    ("Ki67", "MKI67", "D3B5", "Alexa Fluor 555"),
    ("PD1", "PDCD1", "EH33", "Alexa Fluor 647"),
    ("PDL1", "CD274", "E1L3N", "Alexa Fluor 488"),
    ("aSMA", "ACTA2", "1A4", "Alexa Fluor 555"),
    ("Vimentin", "VIM", "D21H3", "Alexa Fluor 647"),
    ("Ecad", "CDH1", "24E10", "Alexa Fluor 488"),
    ("CD20", "MS4A1", "L26", "Alexa Fluor 555"),
    ("SOX10", "SOX10", "SP267", "Alexa Fluor 647"),
)
HE_CHANNELS: tuple[str, ...] = ("Red", "Green", "Blue")
CHANNEL_COLORS: tuple[str, ...] = ("0000FF", "00FF00", "FF0000", "FFFFFF", "FF00FF", "00FFFF")

MICROSCOPES: dict[str, tuple[str, str, float]] = {
    # assay -> (Microscope, Objective, NominalMagnification)
    "t-CyCIF": ("RareCyte CyteFinder II HT", "Olympus UPlanSApo 20x/0.75", 20.0),
    "CyCIF": ("Zeiss Axio Scan.Z1", "Plan-Apochromat 20x/0.8", 20.0),
    "CODEX": ("Keyence BZ-X710", "Nikon CFI Plan Apo 20x/0.75", 20.0),
    "MIBI": ("IONpath MIBIscope", "none", 1.0),
    "mIHC": ("Aperio AT2", "Plan-Apochromat 20x/0.8", 20.0),
    "MxIF": ("GE Cell DIVE", "Olympus UPlanSApo 20x/0.75", 20.0),
    "IMC": ("Fluidigm Hyperion", "none", 1.0),
    "H&E": ("Aperio AT2", "Plan-Apochromat 20x/0.8", 20.0),
}

GENDERS = ("female", "male")
RACES = ("white", "black or african american", "asian", "not reported")
ETHNICITIES = ("not hispanic or latino", "hispanic or latino", "not reported")
VITAL = ("Alive", "Dead")
PRESERVATION = ("Formalin fixed paraffin embedded", "Fresh", "OCT")
BIOSPECIMEN_TYPES = ("Tissue Biospecimen Type", "Blood Biospecimen Type")

COMPONENTS: dict[tuple[str, str], str] = {
    # (modality, level) -> HTAN component
    ("imaging", "Level 2"): "ImagingLevel2",
    ("imaging", "Level 3"): "ImagingLevel3Segmentation",
    ("imaging", "Level 4"): "ImagingLevel4",
    ("imaging", "Auxiliary"): "ImagingLevel2ChannelMetadata",
    ("scRNA-seq", "Level 1"): "ScRNA-seqLevel1",
    ("scRNA-seq", "Level 3"): "ScRNA-seqLevel3",
    ("scRNA-seq", "Level 4"): "ScRNA-seqLevel4",
    ("Bulk WES", "Level 1"): "BulkWESLevel1",
    ("Bulk WES", "Level 3"): "BulkWESLevel3",
}

GENES: tuple[str, ...] = (
    "EPCAM",
    "KRT8",
    "KRT18",
    "PTPRC",
    "CD3E",
    "CD8A",
    "MS4A1",
    "LYZ",
    "COL1A1",
    "ACTA2",
    "VIM",
    "MKI67",
    "TOP2A",
    "CDH1",
    "PECAM1",
    "SOX10",
)
