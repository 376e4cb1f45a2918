"""How users spell facet values: match keys and synonym groups for forgiving filters.

A stored value and a typed value match when they share a *match key*. Every value's keys hold
its folded form (case, accents, spaces and punctuation dropped: ``H&E`` and ``he``, ``CyCIF`` and
``cycif``, ``Colon, NOS`` and ``colon nos``), the keys of every spelling in its synonym group,
and a few facet rules (a center without its ``HTAN`` prefix, an ICD-O term without ``NOS``, a
release as its number).

Sources of the facts written here:

* ``HTAN.model.csv`` (ncihtan/data-models, attribute ``Imaging Assay Type``): the valid values
  H&E, CyCIF, t-CyCIF, IHC, mIHC, MxIF, SABER, IMC, CODEX, GeoMX-DSP, MIBI, MERFISH, ExSeq,
  RareCyte Orion, Not Applicable; attribute ``HTAN Center ID``: HTA1 … HTA16.
* Center names by HTAN id as the HTAN Data Portal's build maps them (ncihtan/htan-portal,
  ``data/`` scripts: ``"HTAN HTAPP": "hta1"`` … ``"HTAN TNP - TMA": "hta14"``,
  ``"HTAN SRRS": "hta15"``); HTA16 has no published name yet and matches by id only.
* The other spellings are the methods' usual names (e.g. CODEX is now sold as PhenoCycler,
  imaging mass cytometry is IMC, MIBI-TOF is MIBI).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

# Imaging Assay Type valid values (HTAN.model.csv) first in each group, then sequencing and
# spatial assays HTAN centers publish; every other entry is a spelling users type.
ASSAY_GROUPS: tuple[tuple[str, ...], ...] = (
    ("H&E", "HE", "H and E", "H+E", "HnE", "hematoxylin and eosin", "haematoxylin and eosin"),
    ("CyCIF", "cyclic immunofluorescence", "cyclic IF"),
    ("t-CyCIF", "tissue CyCIF", "tissue-based cyclic immunofluorescence", "tCycIF"),
    ("IHC", "immunohistochemistry"),
    (
        "mIHC",
        "multiplex IHC",
        "multiplexed IHC",
        "mxIHC",
        "multiplex immunohistochemistry",
        "multiplexed immunohistochemistry",
    ),
    ("MxIF", "multiplexed immunofluorescence", "multiplex immunofluorescence", "Cell DIVE"),
    ("SABER", "SABER-FISH", "signal amplification by exchange reaction"),
    ("IMC", "imaging mass cytometry", "Hyperion"),
    ("CODEX", "PhenoCycler", "CODEX/PhenoCycler", "co-detection by indexing"),
    ("GeoMX-DSP", "GeoMx DSP", "GeoMx", "NanoString GeoMx", "DSP", "digital spatial profiling"),
    ("MIBI", "MIBI-TOF", "MIBIscope", "multiplexed ion beam imaging"),
    ("MERFISH", "multiplexed error-robust FISH"),
    ("ExSeq", "expansion sequencing"),
    ("RareCyte Orion", "Orion"),
    ("Not Applicable", "N/A", "NA"),
    ("scRNA-seq", "single-cell RNA-seq", "single cell RNA-seq", "single-cell RNA sequencing"),
    ("snRNA-seq", "single-nucleus RNA-seq", "single nucleus RNA-seq"),
    ("scATAC-seq", "single-cell ATAC-seq", "single cell ATAC-seq"),
    ("Bulk WES", "WES", "whole exome sequencing", "bulk whole exome sequencing", "exome"),
    ("Bulk RNA-seq", "RNA-seq", "bulk RNA sequencing"),
    ("10x Visium", "Visium", "spatial transcriptomics Visium"),
)

# One group per HTAN center: HTAN_Center value, HTAN id, short name, institution.
CENTER_GROUPS: tuple[tuple[str, ...], ...] = (
    ("HTAN HTAPP", "HTA1", "HTAPP", "Human Tumor Atlas Pilot Project"),
    ("HTAN PCAPP", "HTA2", "PCAPP", "PCAPP Pilot Project", "Pre-Cancer Atlas Pilot Project"),
    ("HTAN BU", "HTA3", "BU", "Boston University"),
    ("HTAN CHOP", "HTA4", "CHOP", "Children's Hospital of Philadelphia"),
    ("HTAN DFCI", "HTA5", "DFCI", "Dana-Farber", "Dana-Farber Cancer Institute"),
    ("HTAN Duke", "HTA6", "Duke", "Duke University"),
    ("HTAN HMS", "HTA7", "HMS", "Harvard Medical School", "Harvard"),
    ("HTAN MSK", "HTA8", "MSK", "MSKCC", "Memorial Sloan Kettering"),
    ("HTAN OHSU", "HTA9", "OHSU", "Oregon Health & Science University"),
    ("HTAN Stanford", "HTA10", "Stanford", "Stanford University"),
    ("HTAN Vanderbilt", "HTA11", "Vanderbilt", "VUMC", "Vanderbilt University Medical Center"),
    ("HTAN WUSTL", "HTA12", "WUSTL", "WashU", "Washington University in St. Louis"),
    ("HTAN TNP SARDANA", "HTA13", "TNP SARDANA", "SARDANA"),
    ("HTAN TNP - TMA", "HTA14", "TNP TMA", "TNP-TMA"),
    ("HTAN SRRS", "HTA15", "HTAN TNP SRRS", "TNP SRRS", "SRRS"),
    ("HTA16",),
)

FORMAT_GROUPS: tuple[tuple[str, ...], ...] = (
    # "tif"/"tiff" reach OME-TIFF only when the catalog stores no plain "tif"/"tiff" value (an
    # exact stored value always wins, catalog/resolve.py).
    ("OME-TIFF", "OME TIFF", "ome.tiff", "ome.tif", "ome-tif", "OME-TIF", "tif", "tiff"),
    ("svs", "Aperio SVS"),
    ("csv", "comma-separated values"),
    ("tsv", "tab-separated values"),
    ("fastq", "fq", "fastq.gz"),
    ("hdf5", "h5"),
)

# HTAN.model.csv ``Data Level``-like values besides "Level N" (which ``_level_keys`` reads).
LEVEL_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Auxiliary", "aux", "auxiliary file", "auxiliary files", "Level Auxiliary"),
    ("Other", "others"),
)

# Channel names and targets that mean one marker. Nuclear stains first: CyCIF panels name their
# Hoechst 33342 rounds "DNA_1", "DNA_2"…, others "DAPI" or "Hoechst" (MCMICRO markers.csv files).
# The rest pair a protein's common name with its HGNC gene symbol (the OME Channel's target),
# only where the symbol names no isoform panels tell apart (not CD45/PTPRC: CD45RO is PTPRC too).
MARKER_GROUPS: tuple[tuple[str, ...], ...] = (
    ("DNA", "DAPI", "Hoechst", "Hoechst 33342", "Hoechst33258", "nuclei", "nuclear stain"),
    ("PD-1", "PDCD1", "CD279"),
    ("PD-L1", "CD274"),
    ("Ki-67", "MKI67"),
    ("CD20", "MS4A1"),
    ("E-cadherin", "ECAD", "CDH1"),
    ("alpha-SMA", "aSMA", "SMA", "ACTA2"),
    ("pan-cytokeratin", "panCK", "pan-CK", "PanCK", "keratin"),
    ("Vimentin", "VIM"),
    ("CD31", "PECAM1"),
    ("HER2", "ERBB2"),
    ("Granzyme B", "GZMB"),
)

# Where the bytes are (the ``source`` facet): CRDC's Cancer Data Service, IDC, this commons.
SOURCE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("CDS", "CRDC", "Cancer Data Service", "nci-crdc.datacommons.io"),
    ("IDC", "Imaging Data Commons", "NCI Imaging Data Commons"),
    ("local", "this commons"),
)

_GROUPS: dict[str, tuple[tuple[str, ...], ...]] = {
    "source": SOURCE_GROUPS,
    "assay": ASSAY_GROUPS,
    "center": CENTER_GROUPS,
    "atlas": CENTER_GROUPS,
    "format": FORMAT_GROUPS,
    "level": LEVEL_GROUPS,
    "marker": MARKER_GROUPS,
}

_RELEASE_RE = re.compile(r"^(?:release|rel|r|v)?\s*([0-9]+)(?:\.([0-9]+))?$")
_LEVEL_RE = re.compile(r"^(?:level|lvl|l)?\s*([0-9])$")


def fold(text: str) -> str:
    """``text`` without case, accents, spaces or punctuation: the base of every match key."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and ch.isascii())


@lru_cache(maxsize=8)
def _group_index(facet: str) -> dict[str, frozenset[str]]:
    """Folded spelling -> folded keys of its whole group, for ``facet``."""
    index: dict[str, frozenset[str]] = {}
    for group in _GROUPS.get(facet, ()):
        folded = frozenset(f for f in (fold(s) for s in group) if f)
        for key in folded:
            index[key] = index.get(key, frozenset()) | folded
    return index


def _release_keys(value: str) -> set[str]:
    match = _RELEASE_RE.match(value.strip().casefold())
    if not match:
        return set()
    major, minor = match.group(1), match.group(2)
    return {f"release{int(major)}" + (f"p{int(minor)}" if minor and int(minor) else "")}


def _level_keys(value: str) -> set[str]:
    match = _LEVEL_RE.match(value.strip().casefold())
    return {f"level{match.group(1)}"} if match else set()


def _center_keys(folded: str) -> set[str]:
    # "HTAN HMS" is also "HMS": the HTAN_Center values all carry the network's name, and the
    # Trans-Network Projects' "TNP" too ("HTAN TNP - TMA" is "TMA").
    keys = {folded[len(p) :] for p in ("htan", "htantnp", "tnp") if folded.startswith(p)}
    return {k for k in keys if k}


def _icdo_keys(folded: str) -> set[str]:
    # ICD-O terms end in "NOS" (not otherwise specified): "Colon, NOS" is what "colon" means.
    return {folded[:-3]} if folded.endswith("nos") and len(folded) > 3 else set()


def _no_keys(value: str, folded: str) -> set[str]:
    return set()


_RULES: dict[str, Callable[[str, str], set[str]]] = {
    "center": lambda value, folded: _center_keys(folded),
    "atlas": lambda value, folded: _center_keys(folded),
    "organ": lambda value, folded: _icdo_keys(folded),
    "diagnosis": lambda value, folded: _icdo_keys(folded),
    "release": lambda value, folded: _release_keys(value),
    "level": lambda value, folded: _level_keys(value),
}


@lru_cache(maxsize=65536)
def match_keys(facet: str, value: str) -> frozenset[str]:
    """Every key under which ``value`` of ``facet`` is found (two values match if they share one).

    >>> sorted(match_keys("assay", "H&E")) == sorted(match_keys("assay", "he"))
    True
    """
    folded = fold(value)
    keys = {folded} if folded else set()
    rule = _RULES.get(facet, _no_keys)
    keys |= rule(value, folded)
    index = _group_index(facet)
    for key in list(keys):
        keys |= index.get(key, frozenset())
    # A rule may apply to a synonym's spelling too ("HTA7" -> "HTAN HMS" -> "hms").
    for key in list(keys):
        keys |= rule(key, key)
    return frozenset(k for k in keys if k)


def matching_values(facet: str, value: str, candidates: Iterable[str]) -> list[str]:
    """The ``candidates`` (stored spellings) that ``value`` means, in their given order."""
    wanted = match_keys(facet, value)
    return [c for c in candidates if wanted & match_keys(facet, c)]


def marker_keys(marker: str) -> list[str]:
    """Folded spellings of ``marker`` and of its synonyms (``DAPI`` -> dapi, dna, hoechst, …)."""
    folded = fold(marker)
    if not folded:
        return []
    return sorted({folded} | _group_index("marker").get(folded, frozenset()))


_WORD = re.compile(r"[a-z0-9]+")


def word_matches(value: str, candidates: Iterable[str]) -> list[str]:
    """``candidates`` holding the words of ``value`` in a row (``skin`` -> ``Skin of trunk``).

    For ICD-O terms (organ, diagnosis) a typed site or morphology names every more specific
    term that contains it; used only when no candidate matches by key.
    """
    words = _WORD.findall(unicodedata.normalize("NFKD", value.casefold()))
    if not words:
        return []
    n = len(words)
    found = []
    for candidate in candidates:
        have = _WORD.findall(unicodedata.normalize("NFKD", candidate.casefold()))
        if any(have[i : i + n] == words for i in range(len(have) - n + 1)):
            found.append(candidate)
    return found


def closest(value: str, candidates: Iterable[str], limit: int = 5) -> list[str]:
    """The ``limit`` candidates most like ``value`` (folded similarity; containment counts)."""
    target = fold(value)
    scored: list[tuple[float, str]] = []
    for candidate in dict.fromkeys(candidates):
        key = fold(candidate)
        if not key:
            continue
        score = difflib.SequenceMatcher(None, target, key).ratio()
        if target and (target in key or key in target):
            score += 0.5
        scored.append((score, candidate))
    scored.sort(key=lambda item: (-item[0], item[1].casefold()))
    return [candidate for _, candidate in scored[:limit]]


__all__ = [
    "ASSAY_GROUPS",
    "CENTER_GROUPS",
    "FORMAT_GROUPS",
    "LEVEL_GROUPS",
    "MARKER_GROUPS",
    "closest",
    "fold",
    "marker_keys",
    "match_keys",
    "matching_values",
    "word_matches",
]
