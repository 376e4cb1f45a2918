"""Importing IDC series (bucket prefixes) from a stand-in for IDC's public bucket.

The stand-in is moto's S3 server on loopback, holding IDC-shaped series: objects under
``<crdc_series_uuid>/`` in a bucket named like IDC's (``idc-open-data``), one uploaded in
parts so its ETag is multipart (``…-N``). moto answers unsigned requests whatever the bucket's
ACL (it does not enforce authentication unless asked to), so a public-read bucket is set up as
IDC's is, and a recording pass-through in front of moto proves our side: no request carries an
``Authorization`` header or an ``X-Amz-*`` signature (idc-index uses ``s5cmd
--no-sign-request``; ImagingDataCommons/idc-index ``index.py``). The pass-through also slows
bodies down for the kill test and can corrupt one listed ETag (fault injection).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests._servers import serve_in_thread
from tests.conftest import run_cli

boto3 = pytest.importorskip("boto3")
idc_index_data = pytest.importorskip("idc_index_data", reason="idc-index-data is not installed")

BUCKET = "idc-open-data"
MiB = 1 << 20


class _Recorder:
    """What the pass-through saw and how it behaves."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.headers: list[dict[str, str]] = []
        self.delay = 0.0  # seconds per 64 KiB of body
        self.bad_etag_key: str | None = None
        self.lock = threading.Lock()


def _handler(rec: _Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            with rec.lock:
                rec.headers.append({k.lower(): v for k, v in self.headers.items()})
            req = urllib.request.Request(rec.upstream + self.path)
            if "Range" in self.headers:
                req.add_header("Range", self.headers["Range"])
            try:
                resp = urllib.request.urlopen(req, timeout=30)
            except urllib.error.HTTPError as err:
                resp = err
            body = resp.read()
            if rec.bad_etag_key and b"<ListBucketResult" in body:
                # Fault injection: one listed ETag no longer matches the object's bytes.
                marker = f"<Key>{rec.bad_etag_key}</Key>".encode()
                at = body.find(marker)
                etag_at = body.find(b"<ETag>", at) + len(b"<ETag>")
                for quote in (b'"', b"&#34;", b"&quot;"):
                    if body.startswith(quote, etag_at):
                        etag_at += len(quote)
                if at >= 0:
                    flip = b"0" if body[etag_at : etag_at + 1] != b"0" else b"1"
                    body = body[:etag_at] + flip + body[etag_at + 1 :]
            self.send_response(resp.status)
            for name in ("Content-Type", "Content-Range", "ETag", "Accept-Ranges"):
                if resp.headers.get(name):
                    self.send_header(name, resp.headers[name])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for start in range(0, len(body), 64 << 10):
                self.wfile.write(body[start : start + (64 << 10)])
                if rec.delay:
                    time.sleep(rec.delay)

    return Handler


@pytest.fixture
def bucket_proxy(moto_s3: str) -> Iterator[_Recorder]:
    rec = _Recorder(moto_s3)
    with serve_in_thread(_handler(rec)) as url:
        rec.url = url  # type: ignore[attr-defined]
        yield rec


def _real_series() -> dict[str, str]:
    """One real HTAN series of the installed index (its ids; its bytes are made up here)."""
    import duckdb

    row = (
        duckdb.connect()
        .execute(
            f"SELECT crdc_series_uuid, collection_id, PatientID, SeriesInstanceUID "
            f"FROM read_parquet('{idc_index_data.IDC_INDEX_PARQUET_FILEPATH}') "
            f"WHERE collection_id = 'htan_ohsu' ORDER BY SeriesInstanceUID LIMIT 1"
        )
        .fetchone()
    )
    assert row is not None
    return dict(zip(("uuid", "collection", "participant", "series"), row, strict=True))


def _fill_bucket(moto_s3: str, prefix: str, sizes: dict[str, int]) -> dict[str, bytes]:
    """Objects under ``prefix`` (those >= 10 MiB uploaded in 5 MiB parts); returns key -> bytes."""
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_s3,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=BUCKET, ACL="public-read")
    data: dict[str, bytes] = {}
    for name, size in sizes.items():
        key = f"{prefix}{name}"
        body = hashlib.sha256(key.encode()).digest() * (size // 32) + b"x" * (size % 32)
        data[key] = body
        if size >= 10 * MiB:
            upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ACL="public-read")
            parts = []
            for n, start in enumerate(range(0, size, 5 * MiB), start=1):
                part = s3.upload_part(
                    Bucket=BUCKET,
                    Key=key,
                    UploadId=upload["UploadId"],
                    PartNumber=n,
                    Body=body[start : start + 5 * MiB],
                )
                parts.append({"ETag": part["ETag"], "PartNumber": n})
            s3.complete_multipart_upload(
                Bucket=BUCKET,
                Key=key,
                UploadId=upload["UploadId"],
                MultipartUpload={"Parts": parts},
            )
            assert "-" in s3.head_object(Bucket=BUCKET, Key=key)["ETag"]
        else:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body, ACL="public-read")
    return data


def _report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.stdout, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def _assert_anonymous(rec: _Recorder) -> None:
    assert rec.headers
    for headers in rec.headers:
        assert "authorization" not in headers
        assert not [h for h in headers if h.startswith("x-amz-")], headers


def test_import_series_from_catalog_selection(
    bucket_proxy: _Recorder, moto_s3: str, home: Path, tmp_path: Path
) -> None:
    real = _real_series()
    data = _fill_bucket(
        moto_s3,
        f"{real['uuid']}/",
        {"a.dcm": 300_000, "b.dcm": 1_000, "c.dcm": 11 * MiB},
    )
    unknown = "00000000-1111-2222-3333-444444444444"
    other = _fill_bucket(moto_s3, f"{unknown}/", {"x.dcm": 5_000})
    built = run_cli("catalog", "build", "--from-idc", home=home)
    assert built.returncode == 0, built.stderr
    manifest = tmp_path / "series.s5cmd"
    made = run_cli(
        "manifest",
        "create",
        "--text",
        real["series"],
        "--format",
        "s5cmd",
        "-o",
        str(manifest),
        home=home,
    )
    assert made.returncode == 0, made.stderr
    # A line as IDC's portal writes it, for a series no index knows.
    with manifest.open("a") as fh:
        fh.write(f"cp s3://{BUCKET}/{unknown}/* .\n")
    dest = tmp_path / "dest"
    result = run_cli(
        "import",
        str(manifest),
        "--to",
        str(dest),
        "--bucket-endpoint",
        bucket_proxy.url,  # type: ignore[attr-defined]
        "--part-size",
        "1MiB",
        "--json",
        home=home,
    )
    report = _report(result)
    assert result.returncode == 0, [(f["path"], f["status"], f["error"]) for f in report["files"]]
    files = {Path(f["path"]).relative_to(dest).as_posix(): f for f in report["files"]}
    series_dir = f"{real['collection']}/{real['participant']}/{real['series']}"
    for key, body in data.items():
        rel = f"{series_dir}/{key.rsplit('/', 1)[-1]}"
        assert (dest / rel).read_bytes() == body
        assert files[rel]["status"] == "done" and files[rel]["verified"] is True
    # The multipart object's ETag (5 MiB parts) was checked too.
    assert files[f"{series_dir}/c.dcm"]["checksum_type"] == "etag"
    for key, body in other.items():
        assert (dest / BUCKET / "unknown" / key).read_bytes() == body
    _assert_anonymous(bucket_proxy)


def test_wrong_etag_fails_and_leaves_no_file(
    bucket_proxy: _Recorder, moto_s3: str, tmp_path: Path, home: Path
) -> None:
    uuid = "99999999-8888-7777-6666-555555555555"
    _fill_bucket(moto_s3, f"{uuid}/", {"good.dcm": 2_000, "bad.dcm": 3_000})
    bucket_proxy.bad_etag_key = f"{uuid}/bad.dcm"
    dest = tmp_path / "dest"
    result = run_cli(
        "import",
        f"s3://{BUCKET}/{uuid}/*",
        "--to",
        str(dest),
        "--bucket-endpoint",
        bucket_proxy.url,  # type: ignore[attr-defined]
        "--json",
        home=home,
    )
    report = _report(result)
    status = {Path(f["path"]).name: f for f in report["files"]}
    assert status["good.dcm"]["status"] == "done"
    assert status["bad.dcm"]["status"] == "failed"
    assert "mismatch" in status["bad.dcm"]["error"]
    assert not (dest / BUCKET / "unknown" / uuid / "bad.dcm").exists()
    assert result.returncode != 0


def test_killed_import_resumes(
    bucket_proxy: _Recorder, moto_s3: str, tmp_path: Path, home: Path
) -> None:
    uuid = "12121212-3434-5656-7878-909090909090"
    data = _fill_bucket(moto_s3, f"{uuid}/", {"big.dcm": 8 * MiB, "small.dcm": 10_000})
    total = sum(len(b) for b in data.values())
    dest = tmp_path / "dest"
    args = [
        "import",
        f"s3://{BUCKET}/{uuid}/*",
        "--to",
        str(dest),
        "--bucket-endpoint",
        bucket_proxy.url,  # type: ignore[attr-defined]
        "--part-size",
        "1MiB",
        "--concurrency",
        "2",
        "--json",
    ]
    bucket_proxy.delay = 0.02  # ~3 MiB/s: the kill lands mid-object
    env = dict(os.environ, HTAN_CDS_HOME=str(home))
    proc = subprocess.Popen(
        [sys.executable, "-m", "htan_cds.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    ledger = dest / ".htan-cds" / "ledger.sqlite"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if ledger.exists() and _parts_done(ledger) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the import ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    final = dest / BUCKET / "unknown" / uuid / "big.dcm"
    assert not final.exists()  # never a half file under the final name
    bucket_proxy.delay = 0.0
    result = run_cli(*args, home=home)
    report = _report(result)
    assert result.returncode == 0, result.stderr
    assert final.read_bytes() == data[f"{uuid}/big.dcm"]
    assert all(f["verified"] for f in report["files"])
    assert report["summary"]["bytes_fetched"] < total  # the parts fetched before the kill were kept
    _assert_anonymous(bucket_proxy)


def _parts_done(ledger: Path) -> int:
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=0.2)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
            if "parts" not in tables:
                return 0
            row = con.execute("SELECT count(*) FROM parts").fetchone()
            return int(row[0]) if row else 0
        finally:
            con.close()
    except sqlite3.Error:
        return 0
