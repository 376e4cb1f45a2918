"""Honest verification in the import: ``verified``/``checksum_type`` per file in the report and
the ledger, every checksum type checked while the bytes arrive, ``--require-verified``, and a
wrong checksum of any type failing the file with nothing under its name."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from pathlib import Path

import google_crc32c
import pytest

from htan_cds.transfer import FileStatus, ImportOptions, ledger_status, run_import
from tests.conftest import run_cli
from tests.transfer.fault_server import FaultServer, payload

pytestmark = pytest.mark.network


def _crc_b64(data: bytes) -> str:
    return base64.b64encode(struct.pack(">I", google_crc32c.value(data))).decode()


def _multipart_etag(data: bytes, part: int) -> str:
    digests = [hashlib.md5(data[i : i + part]).digest() for i in range(0, len(data), part)]
    return f"{hashlib.md5(b''.join(digests)).hexdigest()}-{len(digests)}"


def test_every_checksum_type_verified_or_honestly_not(tmp_path: Path) -> None:
    big = payload("big", 6 * 1024 * 1024 + 17)
    data = {name: payload(name, 300_000) for name in ("crc", "crchex", "etag1", "sha1", "sha512")}
    data["mp-known"] = big
    data["mp-unknown"] = payload("mpu", 3_000_000)
    data["none"] = payload("none", 5000)
    declared = {
        "crc": [{"type": "crc32c", "checksum": _crc_b64(data["crc"])}],
        "crchex": [{"type": "crc32c", "checksum": f"{google_crc32c.value(data['crchex']):08x}"}],
        "etag1": [{"type": "etag", "checksum": hashlib.md5(data["etag1"]).hexdigest()}],
        "sha1": [{"type": "sha1", "checksum": hashlib.sha1(data["sha1"]).hexdigest()}],
        "sha512": [{"type": "sha-512", "checksum": hashlib.sha512(data["sha512"]).hexdigest()}],
        "mp-known": [{"type": "etag", "checksum": _multipart_etag(big, 5 * 1024 * 1024)}],
        "mp-unknown": [{"type": "etag", "checksum": _multipart_etag(data["mp-unknown"], 999_999)}],
        "none": [{"type": "crc32", "checksum": "0badc0de"}],  # a type nobody can check
    }
    with FaultServer(declared=declared) as srv:
        uris = {k: srv.uri(srv.add(k, v)) for k, v in data.items()}
        report_path = tmp_path / "report.json"
        result = run_cli(
            "import",
            *uris.values(),
            "--to",
            str(tmp_path / "d"),
            "--json-report",
            str(report_path),
            "--part-size",
            "1MiB",
        )
        assert result.returncode == 0, result.stderr
        assert f"{len(data)} done (6 verified, 2 unverified)" in result.stderr
        files = {f["drs_uri"]: f for f in json.loads(report_path.read_text())["files"]}
        want = {
            "crc": (True, "crc32c"),
            "crchex": (True, "crc32c"),
            "etag1": (True, "etag"),
            "sha1": (True, "sha1"),
            "sha512": (True, "sha-512"),
            "mp-known": (True, "etag"),
            "mp-unknown": (False, None),
            "none": (False, None),
        }
        for key, (verified, ctype) in want.items():
            entry = files[uris[key]]
            assert (entry["status"], entry["verified"], entry["checksum_type"]) == (
                "done",
                verified,
                ctype,
            ), key
            assert (tmp_path / "d" / f"{key}.bin").read_bytes() == data[key]
        ledger = {r["drs_uri"]: r for r in ledger_status(tmp_path / "d")["files"]}
        assert ledger[uris["crc"]]["verified"] is True
        assert ledger[uris["crc"]]["status"] == "verified"
        assert ledger[uris["none"]]["verified"] is False
        assert ledger[uris["none"]]["status"] == "done"
        status = run_cli("import", "status", str(tmp_path / "d"), "--json")
        assert json.loads(status.stdout)["by_status"]["done"] == 2

        # --require-verified: the unverifiable ones fail, nothing under their names.
        strict = run_import(
            [uris["mp-unknown"], uris["none"], uris["crc"]],
            tmp_path / "strict",
            ImportOptions(require_verified=True, part_size=1 << 20),
        )
        by_uri = {f.drs_uri: f for f in strict.files}
        assert by_uri[uris["crc"]].status is FileStatus.DONE and by_uri[uris["crc"]].verified
        for key in ("mp-unknown", "none"):
            assert by_uri[uris[key]].status is FileStatus.FAILED
            assert "--require-verified" in (by_uri[uris[key]].error or "")
            assert not (tmp_path / "strict" / f"{key}.bin").exists()
        assert srv.requests["data"] >= 1


@pytest.mark.parametrize("kind", ["md5", "crc32c", "etag", "sha-256"])
def test_wrong_checksum_of_any_type_fails_the_file(tmp_path: Path, kind: str) -> None:
    data = payload(kind, 200_000)
    other = data[:-1] + b"!"
    value = {
        "md5": hashlib.md5(other).hexdigest(),
        "crc32c": _crc_b64(other),
        "etag": hashlib.md5(other).hexdigest(),
        "sha-256": hashlib.sha256(other).hexdigest(),
    }[kind]
    with FaultServer(declared={"x": [{"type": kind, "checksum": value}]}) as srv:
        uri = srv.uri(srv.add("x", data))
        report = run_import([uri], tmp_path / "d", ImportOptions(verify_attempts=2))
    result = report.files[0]
    assert result.status is FileStatus.FAILED and not result.verified
    assert "checksum mismatch" in (result.error or "") and kind in (result.error or "")
    assert not (tmp_path / "d" / "x.bin").exists()
    assert report.summary()["verified"] == 0


def test_rerun_skips_with_proof_only_when_a_checksum_proves_it(tmp_path: Path) -> None:
    data = payload("again", 50_000)
    declared = {
        "c": [{"type": "crc32c", "checksum": _crc_b64(data)}],
        "n": [{"type": "crc32", "checksum": "0"}],
    }
    with FaultServer(declared=declared) as srv:
        uris = [srv.uri(srv.add("c", data)), srv.uri(srv.add("n", data))]
        run_import(uris, tmp_path / "d")
        again = run_import(uris, tmp_path / "d")
    by_uri = {f.drs_uri: f for f in again.files}
    assert by_uri[uris[0]].status is FileStatus.SKIPPED and by_uri[uris[0]].verified
    assert by_uri[uris[0]].checksum_type == "crc32c"
    assert by_uri[uris[1]].status is FileStatus.SKIPPED and not by_uri[uris[1]].verified
