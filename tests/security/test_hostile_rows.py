"""Issue 11.8: one hostile row fails alone, with its reason in the report.

A hostile DRS server on 127.0.0.2 serves a manifest's objects: one declares 1 PB, one is named
to escape DEST (``../../escape.bin``) or to disguise itself (RTL override), and one row's layout
path runs through a symlink in DEST that points outside. Before the fix the first and last
aborted the whole import with no report; now each fails (or is renamed safely) on its own row,
the honest rows are done, and nothing is written outside DEST.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from htan_cds.manifest.names import is_safe_file_name
from tests.conftest import run_cli
from tests.security.hostile import Hostile

pytestmark = pytest.mark.network


def test_each_hostile_row_fails_alone(tmp_path: Path) -> None:
    objects = {f"o{i}": f"object {i}\n".encode() * 50 for i in range(5)}
    with Hostile(
        objects=objects,
        declared_sizes={"o1": 1 << 50},
        names={"o2": "../../escape.bin", "o3": "invoice\u202etxt.exe"},
    ) as evil:
        dest = tmp_path / "dest"
        outside = tmp_path / "outside"
        outside.mkdir()
        dest.mkdir()
        (dest / "linked").symlink_to(outside, target_is_directory=True)
        rows = [
            (evil.uri("o0"), "plain"),
            (evil.uri("o1"), "plain"),
            (evil.uri("o2"), "plain"),
            (evil.uri("o3"), "plain"),
            (evil.uri("o4"), "linked"),
        ]
        manifest = tmp_path / "m.csv"
        manifest.write_text("drs_uri,center\n" + "".join(f"{u},{c}\n" for u, c in rows))
        result = run_cli(
            "import", str(manifest), "--to", str(dest), "--layout", "{center}/{name}", "--json"
        )
    assert result.returncode == 1, result.stderr
    report = {f["drs_uri"]: f for f in json.loads(result.stdout)["files"]}
    assert len(report) == 5
    status = {oid: report[evil.uri(oid)]["status"] for oid in objects}
    assert status == {"o0": "done", "o1": "failed", "o2": "done", "o3": "done", "o4": "failed"}
    assert "declared size" in report[evil.uri("o1")]["error"]
    assert "outside" in report[evil.uri("o4")]["error"]
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "escape.bin").exists()
    for oid in ("o2", "o3"):
        path = Path(report[evil.uri(oid)]["path"])
        assert path.is_file() and dest in path.parents and is_safe_file_name(path.name), path
