"""The ``htan-cds import`` command: conflicts, dry runs, stdin, status, usage errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.transfer.fault_server import FaultServer, payload

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def srv() -> Iterator[FaultServer]:
    with FaultServer() as server:
        for i in range(3):
            server.add(f"c{i}", payload(f"c{i}", 5000 + i))
        yield server


def test_import_json_then_conflicts(srv: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    uris = [srv.uri(f"c{i}") for i in range(3)]
    first = run_cli("import", *uris, "--to", str(dest), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["summary"]["done"] == 3
    assert set(report["files"][0]) >= {"drs_uri", "path", "size", "checksum", "status", "error"}

    # A different file where c0 would go: skipped by default, never overwritten.
    (dest / "c0.bin").write_bytes(b"mine")
    again = run_cli("import", *uris, "--to", str(dest), "--json")
    assert again.returncode == 3, again.stderr  # a conflict held a file back
    files = {f["drs_uri"]: f for f in json.loads(again.stdout)["files"]}
    assert files[uris[0]]["status"] == "skipped" and "different file" in files[uris[0]]["error"]
    assert (dest / "c0.bin").read_bytes() == b"mine"
    assert files[uris[1]]["status"] == "skipped" and files[uris[1]]["error"] is None

    renamed = run_cli("import", uris[0], "--to", str(dest), "--conflict", "rename", "--json")
    assert renamed.returncode == 0, renamed.stderr
    assert (dest / "c0.bin").read_bytes() == b"mine"
    assert (dest / "c0_2.bin").read_bytes() == srv.objects["c0"]

    over = run_cli("import", uris[0], "--to", str(dest), "--conflict", "overwrite", "--quiet")
    assert over.returncode == 0, over.stderr
    # The ledger remembers c0 now lives at c0_2.bin, and that file is intact: nothing to do.
    assert (dest / "c0_2.bin").read_bytes() == srv.objects["c0"]

    status = run_cli("import", "status", str(dest), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["by_status"]["verified"] == 3
    human = run_cli("import", "status", str(dest))
    assert human.returncode == 0 and "verified" in human.stderr


def test_dry_run_and_stdin(srv: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "dry"
    dry = run_cli("import", "-", "--to", str(dest), "--dry-run", "--json", input=srv.uri("c1"))
    assert dry.returncode == 0, dry.stderr
    item = json.loads(dry.stdout)["files"][0]
    assert item["status"] == "skipped" and "dry run" in item["error"]
    assert not (dest / "c1.bin").exists()

    manifest = tmp_path / "m.csv"
    manifest.write_text(f"drs_uri,name\n{srv.uri('c2')},renamed.bin\n")
    real = run_cli("import", str(manifest), "--to", str(dest), "--quiet")
    assert real.returncode == 0, real.stderr
    assert (dest / "renamed.bin").read_bytes() == srv.objects["c2"]


def test_spreadsheet_encodings_import_by_file_and_stdin(srv: FaultServer, tmp_path: Path) -> None:
    """Excel's "Unicode Text" (UTF-16 LE, BOM, tab), its plain CSV in Windows-1252 and its
    workbooks import as the names they hold, from a file and piped in."""
    import codecs
    import os
    import subprocess
    import sys

    dest = tmp_path / "sheets"
    unicode_text = f"name\tdrs_uri\r\nr\u00e9sum\u00e9.bin\t{srv.uri('c0')}\r\n"
    sheet = tmp_path / "unicode.txt"
    sheet.write_bytes(codecs.BOM_UTF16_LE + unicode_text.encode("utf-16-le"))
    by_file = run_cli("import", str(sheet), "--to", str(dest), "--quiet")
    assert by_file.returncode == 0, by_file.stderr
    assert (dest / "r\u00e9sum\u00e9.bin").read_bytes() == srv.objects["c0"]
    ansi = f"name;drs_uri\r\ncaf\u00e9.bin;{srv.uri('c1')}\r\n".encode("cp1252")
    piped = subprocess.run(
        [sys.executable, "-m", "htan_cds", "import", "-", "--to", str(dest), "--json"],
        input=ansi,
        capture_output=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert piped.returncode == 0, piped.stderr
    assert (dest / "caf\u00e9.bin").read_bytes() == srv.objects["c1"]
    import openpyxl  # Excel's default "Save" makes a workbook of the portal's CSV

    book = openpyxl.Workbook()
    book.active.append(["drs_uri", "name"])
    book.active.append([srv.uri("c2"), "from-excel.bin"])
    book.save(tmp_path / "cart.xlsx")
    saved = run_cli("import", str(tmp_path / "cart.xlsx"), "--to", str(dest), "--quiet")
    assert saved.returncode == 0, saved.stderr
    assert (dest / "from-excel.bin").read_bytes() == srv.objects["c2"]


def test_failures_and_usage_errors(srv: FaultServer, tmp_path: Path) -> None:
    missing = run_cli("import", srv.uri("nope"), "--to", str(tmp_path / "d"))
    assert missing.returncode == 1
    assert "failed" in missing.stderr and "Traceback" not in missing.stderr
    for args in (
        ["import", srv.uri("c0")],
        ["import", srv.uri("c0"), "--to", str(tmp_path), "--conflict", "maybe"],
        ["import", srv.uri("c0"), "--to", str(tmp_path), "--part-size", "huge"],
        ["import", str(tmp_path / "absent.csv"), "--to", str(tmp_path)],
        ["import", "status", str(tmp_path / "never")],
        ["import", srv.uri("c0"), "--to", "ftp://x/y"],
    ):
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "error:" in result.stderr and "Traceback" not in result.stderr


def test_rename_finds_an_identical_numbered_copy(srv: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "fresh"
    dest.mkdir()
    (dest / "c0.bin").write_bytes(b"someone else's")
    (dest / "c0_2.bin").write_bytes(srv.objects["c0"])
    served = srv.bytes_served
    result = run_cli("import", srv.uri("c0"), "--to", str(dest), "--conflict", "rename", "--json")
    assert result.returncode == 0, result.stderr
    item = json.loads(result.stdout)["files"][0]
    assert item["status"] == "skipped" and item["path"].endswith("c0_2.bin")
    assert srv.bytes_served == served
    assert (dest / "c0.bin").read_bytes() == b"someone else's"
