"""The S3 destination against moto's S3 server on loopback (multipart for big files)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from htan_cds.transfer import FileStatus, ImportOptions, run_import
from tests.transfer.fault_server import FaultServer, payload

pytestmark = pytest.mark.network


def test_import_into_s3_bucket_and_rerun_skips(moto_s3: str, tmp_path: Path) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_s3)
    s3.create_bucket(Bucket="cohort")
    sizes = {"big": 20 << 20, "small": 5000}
    with FaultServer() as srv:
        uris = [srv.uri(srv.add(k, payload(k, n))) for k, n in sizes.items()]
        opts = ImportOptions(s3_endpoint=moto_s3, state_dir=tmp_path / "state", part_size=4 << 20)
        report = run_import(uris, "s3://cohort/imports/run1", opts)
        assert report.ok, [f.error for f in report.files]
        assert {f.status for f in report.files} == {FileStatus.DONE}
        for key, n in sizes.items():
            obj = s3.get_object(Bucket="cohort", Key=f"imports/run1/{key}.bin")
            body = obj["Body"].read()
            assert body == payload(key, n)
            assert obj["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest()
        # The 20 MiB object went up in parts (its ETag names the part count).
        head = s3.head_object(Bucket="cohort", Key="imports/run1/big.bin")
        assert "-" in head["ETag"]
        assert report.files[0].path == "s3://cohort/imports/run1/big.bin"
        assert not list((tmp_path / "state" / "partial").glob("*"))

        served = srv.bytes_served
        again = run_import(uris, "s3://cohort/imports/run1", opts)
        assert {f.status for f in again.files} == {FileStatus.SKIPPED}
        assert srv.bytes_served == served
