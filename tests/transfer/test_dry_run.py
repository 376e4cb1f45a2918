"""``import --dry-run`` shows the plan (files, bytes, paths, free space, what would be skipped
or conflict) and creates nothing on disk — not even the ledger folder."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.transfer.fault_server import FaultServer, payload

pytestmark = pytest.mark.network

SIZES = {f"d{i}": 5000 + 1000 * i for i in range(4)}


@pytest.fixture(scope="module")
def srv() -> Iterator[FaultServer]:
    with FaultServer() as server:
        for oid, size in SIZES.items():
            server.add(oid, payload(oid, size))
        yield server


def _tree(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every entry under ``root``: size, mtime (ns) and content hash of files."""
    out: dict[str, tuple[int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns, digest)
    return out


def test_dry_run_into_a_new_folder_creates_nothing(srv: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "new" / "dest"
    uris = [srv.uri(oid) for oid in SIZES]
    result = run_cli("import", *uris, "--to", str(dest), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "new").exists()
    err = result.stderr
    assert "Dry run (nothing fetched, nothing written): 4 files" in err
    assert "would fetch" in err and "4 files" in err
    assert "to write" in err and "they fit" in err
    for oid in SIZES:
        assert str(dest / f"{oid}.bin") in err
    as_json = run_cli("import", *uris, "--to", str(dest), "--dry-run", "--json")
    report = json.loads(as_json.stdout)
    assert report["summary"]["space"]["need"] == sum(SIZES.values())
    assert report["summary"]["space"]["fits"] is True
    assert {f["cause"] for f in report["files"]} == {"dry_run"}
    assert {f["path"] for f in report["files"]} == {str(dest / f"{o}.bin") for o in SIZES}
    assert not (tmp_path / "new").exists()


def test_dry_run_over_an_earlier_import_changes_nothing(srv: FaultServer, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    first = run_cli("import", srv.uri("d0"), srv.uri("d1"), "--to", str(dest), "--quiet")
    assert first.returncode == 0, first.stderr
    (dest / "d2.bin").write_bytes(b"a different file")
    before = _tree(dest)
    assert ".htan-cds/ledger.sqlite" in before
    uris = [srv.uri(oid) for oid in SIZES]
    result = run_cli("import", *uris, "--to", str(dest), "--dry-run", "--verbose")
    assert result.returncode == 3, result.stderr  # it would conflict
    assert _tree(dest) == before  # not a byte, not a timestamp, no -wal/-shm beside the ledger
    err = result.stderr
    assert "already there" in err and "would conflict" in err and "would fetch" in err
    assert "1 conflict: a different file is already there — --conflict rename|overwrite" in err
    assert str(dest / "d3.bin") in err
    renamed = run_cli(
        "import", *uris, "--to", str(dest), "--dry-run", "--conflict", "rename", "--json"
    )
    files = {f["drs_uri"]: f for f in json.loads(renamed.stdout)["files"]}
    assert files[srv.uri("d2")]["path"] == str(dest / "d2_2.bin")
    assert "new name" in files[srv.uri("d2")]["error"]
    assert _tree(dest) == before


def test_dry_run_to_a_bucket_stages_nothing(
    srv: FaultServer, tmp_path: Path, moto_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    boto3.client("s3", endpoint_url=moto_s3).create_bucket(Bucket="dry-run-bucket")
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))  # where s3:// imports stage and keep state
    result = run_cli(
        "import",
        srv.uri("d0"),
        "--to",
        "s3://dry-run-bucket/x",
        "--s3-endpoint",
        moto_s3,
        "--dry-run",
    )
    assert result.returncode == 0, result.stderr
    assert "s3://dry-run-bucket/x/d0.bin" in result.stderr
    assert not (cache / "htan-cds").exists()
