"""Sizes for people: one unit system everywhere (CLI, portal, docs).

htan-cds prints byte counts in IEC binary units — ``B``, ``KiB``, ``MiB``, ``GiB``, ``TiB``,
``PiB`` (1 KiB = 1024 bytes, IEC 80000-13) — and says "unknown" where a size is not known
(NULL, NaN or pandas' ``NA`` in catalogs built from exports that lack sizes), never ``0 B``.
The portal's ``formatSize`` in ``server/portal/static/js/util.js`` follows the same rule, and
``tests/test_units.py`` holds the two to the same answers.
"""

from __future__ import annotations

import math
from typing import Any

UNKNOWN = "unknown"
UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
STEP = 1024


def known_size(value: Any) -> int | None:
    """``value`` as a whole number of bytes, or None when it is missing or not a number.

    Accepts ints, floats, numeric strings, numpy scalars; None, NaN, ``pandas.NA`` and
    ``pandas.NaT`` (whose truth value raises) are unknown.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or math.isinf(number):
        return None
    return int(number)


def format_size(value: Any, *, unknown: str = UNKNOWN) -> str:
    """Bytes as a short IEC figure: ``512 B``, ``1.5 KiB``, ``133.1 MiB``; ``unknown`` when
    the size is not known (see :func:`known_size`)."""
    size = known_size(value)
    if size is None:
        return unknown
    scaled = float(size)
    for unit in UNITS:
        if abs(scaled) < STEP or unit == UNITS[-1]:
            return f"{size} B" if unit == "B" else f"{scaled:.1f} {unit}"
        scaled /= STEP
    raise AssertionError("unreachable")  # pragma: no cover


def format_rate(bytes_per_second: Any) -> str:
    """A transfer rate in the same units: ``12.3 MiB/s``."""
    return f"{format_size(bytes_per_second)}/s"


def format_total(total: Any, files: int = 0, without_size: int = 0) -> str:
    """The size of a set of files of which ``without_size`` have no known size:
    ``1.2 GiB``, ``at least 1.2 GiB (3 files of unknown size)``, or ``unknown``."""
    if known_size(total) is None or (files and without_size >= files):
        return UNKNOWN
    shown = format_size(total)
    if not without_size:
        return shown
    plural = "" if without_size == 1 else "s"
    return f"at least {shown} ({without_size:,} file{plural} of unknown size)"


def summary_size(summary: Any) -> str:
    """:func:`format_total` of a catalog summary (``total_size``, ``files``,
    ``files_without_size``)."""
    return format_total(
        summary.get("total_size"), summary.get("files", 0), summary.get("files_without_size", 0)
    )
