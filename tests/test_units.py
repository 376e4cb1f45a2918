"""One unit system for sizes: the Python helper, the portal's JS twin, and no third formatter."""

from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from htan_cds.units import format_size, format_total, known_size, summary_size

REPO = Path(__file__).resolve().parents[1]
UTIL_JS = REPO / "src/htan_cds/server/portal/static/js/util.js"

SAMPLES: list[object] = [
    0,
    1,
    512,
    1023,
    1024,
    1536,
    1048575,
    1048576,
    139_586_437,  # the demo's total once printed as 133.1 MB (CLI) and 139.6 MB (portal)
    5 * 1024**3 + 1,
    3 * 1024**5,
    7 * 1024**6,
    None,
]


def test_format_size_is_iec_and_says_unknown() -> None:
    assert format_size(0) == "0 B"
    assert format_size(1023) == "1023 B"
    assert format_size(1024) == "1.0 KiB"
    assert format_size(139_586_437) == "133.1 MiB"
    assert format_size(5 * 1024**3) == "5.0 GiB"
    assert format_size(3 * 1024**5) == "3.0 PiB"
    for missing in (None, float("nan"), pd.NA, pd.NaT, "", "n/a", math.inf):
        assert format_size(missing) == "unknown", missing
    assert known_size("2048") == 2048
    assert known_size(True) is None


def test_totals_never_call_unknown_zero() -> None:
    assert format_total(None, 3, 3) == "unknown"
    assert format_total(0, 3, 3) == "unknown"
    assert format_total(2048, 3, 0) == "2.0 KiB"
    assert format_total(2048, 3, 1) == "at least 2.0 KiB (1 file of unknown size)"
    assert format_total(0, 0, 0) == "0 B"
    assert summary_size({"files": 30, "total_size": None, "files_without_size": 30}) == "unknown"


def test_portal_js_formats_exactly_like_python() -> None:
    from tests._browser import launch_chromium

    source = UTIL_JS.read_text()
    module = "data:text/javascript;base64," + base64.b64encode(source.encode()).decode()
    totals = [
        {"total_size": None, "files": 3, "files_without_size": 3},
        {"total_size": 0, "files": 3, "files_without_size": 3},
        {"total_size": 2048, "files": 3, "files_without_size": 1},
        {"total_size": 2048, "files": 3, "files_without_size": 2},
        {"total_size": 139_586_437, "files": 300, "files_without_size": 0},
        {"total_size": 0, "files": 0, "files_without_size": 0},
    ]
    with launch_chromium() as chromium:
        page = chromium.new_page()
        got = page.evaluate(
            """async ([url, sizes, totals]) => {
                 const util = await import(url);
                 return [sizes.map(util.formatSize), totals.map(util.formatTotal)];
               }""",
            [module, SAMPLES, totals],
        )
    assert got[0] == [format_size(v) for v in SAMPLES]
    assert got[1] == [summary_size(t) for t in totals]


_UNIT_LISTS = re.compile(r"""["'](?:KB|MB|GB|KiB|MiB|GiB)["']\s*,\s*["'](?:MB|GB|MiB|GiB|TB)["']""")
_FORMATTERS = (REPO / "src/htan_cds/units.py", UTIL_JS)


def test_no_other_size_formatter_in_the_code() -> None:
    """Sizes are formatted by htan_cds.units and util.js only: no module keeps its own list of
    unit names (the way "133.1 MB" and "139.6 MB" came to describe the same bytes)."""
    offenders = []
    for path in (REPO / "src").rglob("*"):
        if path.suffix not in (".py", ".js", ".html") or path in _FORMATTERS:
            continue
        text = path.read_text(errors="replace")
        # rich's DownloadColumn/TransferSpeedColumn print decimal MB/s by default.
        if _UNIT_LISTS.search(text) or re.search(r"DownloadColumn\(|TransferSpeedColumn\(", text):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


@pytest.mark.parametrize("doc", [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md"])
def test_docs_print_sizes_in_the_same_units(doc: Path) -> None:
    """Output shown in the docs uses IEC units; decimal MB/GB appear only where a doc names
    another tool's unit on purpose (marked with the word 'decimal' on the same line)."""
    bad = [
        line
        for line in doc.read_text().splitlines()
        if re.search(r"\d\s?(?:KB|MB|GB|TB)\b", line) and "decimal" not in line
    ]
    assert bad == [], json.dumps(bad, indent=1)
