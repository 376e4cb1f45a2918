"""Import and imaging against stand-ins answering as CRDC (Gen3 indexd + fence), Seven Bridges,
servers sending AccessURL headers as an object, and public buckets (see real_servers.py), with
the DRS host mapped to loopback by ``[drs.endpoints]``."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import google_crc32c
import pytest

from htan_cds.drs.access_methods import PublicCloud
from htan_cds.drs.endpoints import EndpointMap
from htan_cds.transfer import FileStatus, ImportOptions, run_import
from tests.drs.real_servers import CRDC_HOST, RealShapesServer
from tests.transfer.fault_server import payload

pytestmark = pytest.mark.network

UUIDS = [f"0000000{i}-7e68-11ee-8f1d-c3303a8d2065" for i in range(8)]


@pytest.fixture
def standin() -> Iterator[RealShapesServer]:
    with RealShapesServer() as srv:
        yield srv


def _options(srv: RealShapesServer, **kw: object) -> ImportOptions:
    endpoints = EndpointMap()
    endpoints.add(CRDC_HOST, srv.url)
    return ImportOptions(
        endpoints=endpoints, public_cloud=PublicCloud(s3=srv.url + "/s3", gs=srv.url + "/gcs"), **kw
    )  # type: ignore[arg-type]


def _crc(data: bytes) -> str:
    return base64.b64encode(struct.pack(">I", google_crc32c.value(data))).decode()


def test_a_manifest_mixing_every_shape(standin: RealShapesServer, tmp_path: Path) -> None:
    srv = standin
    data = {i: payload(f"o{i}", 150_000 + i * 7919) for i in range(8)}
    d = [f"dg.4DFC/{u}" for u in UUIDS]
    srv.add(d[0], data[0], "a.ome.tif")  # indexd, md5, gs + s3 methods
    srv.add(d[1], data[1], "b.ome.tif", hashes={"crc32c": _crc(data[1])})  # GCS-style crc32c
    srv.add(
        d[2], data[2], "c.ome.tif", shape="sb", hashes={"etag": hashlib.md5(data[2]).hexdigest()}
    )
    srv.add(d[3], data[3], "d.ome.tif", shape="headers-object")
    srv.add(
        d[4],
        data[4],
        "e.ome.tif",
        shape="inline-list",
        hashes={"sha256": hashlib.sha256(data[4]).hexdigest()},
    )
    srv.add(
        d[5],
        data[5],
        "f.ome.tif",
        shape="public-gs",
        hashes={"sha-512": hashlib.sha512(data[5]).hexdigest()},
    )
    parts = [hashlib.md5(data[6][i : i + 65536]).digest() for i in range(0, len(data[6]), 65536)]
    unknown_etag = f"{hashlib.md5(b''.join(parts)).hexdigest()}-{len(parts)}"  # 64 KiB parts
    srv.add(d[6], data[6], "g.ome.tif", hashes={"etag": unknown_etag})
    srv.add(d[7], data[7], "h.ome.tif", hashes={"md5": hashlib.md5(b"other").hexdigest()})
    srv.api_faults[d[0]] = ["202", "429"]  # staged, then rate-limited, then answered
    srv.byte_faults[d[1]] = ["expire"]  # the signed URL expired: a fresh one via /access
    srv.byte_faults[d[3]] = ["429"]
    uris = [
        f"drs://{CRDC_HOST}/{d[0]}",  # hostname form
        f"dg.4DFC/{UUIDS[1]}",  # ISB-CGC's compact form
        f"drs://dg.4DFC:{UUIDS[2]}",  # colon compact form
        f"dg.4dfc:dg.4DFC/{UUIDS[3]}",  # no scheme, prefix repeated, other case
        f"drs://crdc/dg.4DFC:{UUIDS[4]}",  # provider code
        f"drs://{CRDC_HOST}/{d[5]}",
        f"drs://{CRDC_HOST}/{d[6]}",
        f"drs://{CRDC_HOST}/{d[7]}",
    ]
    report = run_import(uris, tmp_path / "d", _options(srv, verify_attempts=1))
    by_name = {Path(f.path or "").name: f for f in report.files}
    expect = {
        "a.ome.tif": (FileStatus.DONE, True, "md5"),
        "b.ome.tif": (FileStatus.DONE, True, "crc32c"),
        "c.ome.tif": (FileStatus.DONE, True, "etag"),
        "d.ome.tif": (FileStatus.DONE, True, "md5"),
        "e.ome.tif": (FileStatus.DONE, True, "sha256"),
        "f.ome.tif": (FileStatus.DONE, True, "sha-512"),
        "g.ome.tif": (FileStatus.DONE, False, None),  # multipart ETag, part size not findable
    }
    for name, (status, verified, ctype) in expect.items():
        got = by_name[name]
        assert (got.status, got.verified, got.checksum_type) == (status, verified, ctype), (
            name,
            got.error,
        )
        i = "abcdefgh".index(name[0])
        assert (tmp_path / "d" / name).read_bytes() == data[i]
    bad = [f for f in report.files if f.status is FileStatus.FAILED]
    assert len(bad) == 1 and "checksum mismatch" in (bad[0].error or "")
    assert not (tmp_path / "d" / "h.ome.tif").exists()
    assert report.summary()["verified"] == 6 and report.summary()["unverified"] == 1
    assert srv.requests["access"] >= 5  # indexd and SB objects go through /access


def test_controlled_files_need_the_gen3_key(standin: RealShapesServer, tmp_path: Path) -> None:
    srv = standin
    d = f"dg.4DFC/{UUIDS[0]}"
    srv.add(d, payload("c", 80_000), "secret.tif", controlled=True)
    uri = f"drs://{CRDC_HOST}/{d}"
    denied = run_import([uri], tmp_path / "a", _options(srv))
    err = denied.files[0].error or ""
    assert denied.files[0].status is FileStatus.FAILED
    # Every method tried, each failure named.
    assert "gs via /access/gs" in err and "s3 via /access/s3" in err and "401" in err
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps(srv.api_key()))
    ok = run_import([uri], tmp_path / "b", _options(srv, gen3_credentials=creds))
    assert ok.files[0].status is FileStatus.DONE and ok.files[0].verified, ok.files[0].error
    assert srv.exchanges == 1


def test_failing_method_falls_back_to_the_next(standin: RealShapesServer, tmp_path: Path) -> None:
    srv = standin
    d = f"dg.4DFC/{UUIDS[1]}"
    obj = srv.add(d, payload("fb", 50_000), "x.tif")
    # The first method (gs) names a protocol fence does not sign: 400; s3 works.
    obj.urls[0] = obj.urls[0].replace("gs://", "az://")
    report = run_import([f"drs://{CRDC_HOST}/{d}"], tmp_path / "d", _options(srv))
    assert report.files[0].status is FileStatus.DONE, report.files[0].error


def test_bundles_import_into_folders(standin: RealShapesServer, tmp_path: Path) -> None:
    srv = standin
    d = [f"dg.4DFC/{u}" for u in UUIDS[:3]]
    for i, did in enumerate(d):
        srv.add(did, payload(f"m{i}", 10_000 + i), f"m{i}.tif")
    srv.add_bundle("dg.4DFC/inner-bundle", "inner", [(d[2], "deep.tif")])
    srv.add_bundle(
        "dg.4DFC/top-bundle",
        "HTA9_1_1",
        [(d[0], "first.tif"), (d[1], "../../second.tif"), ("dg.4DFC/inner-bundle", "inner")],
    )
    srv.add_bundle("dg.4DFC/loop-a", "a", [("dg.4DFC/loop-b", "b")])
    srv.add_bundle("dg.4DFC/loop-b", "b", [("dg.4DFC/loop-a", "a"), (d[0], "ok.tif")])
    uris = [srv.drs_uri("dg.4DFC/top-bundle"), srv.drs_uri("dg.4DFC/loop-a")]
    report = run_import(uris, tmp_path / "d", _options(srv))
    root = tmp_path / "d"
    assert (root / "HTA9_1_1" / "first.tif").read_bytes() == payload("m0", 10_000)
    # A member name cannot climb out of its bundle's folder.
    second = [p for p in (root / "HTA9_1_1").iterdir() if p.is_file() and p.name != "first.tif"]
    assert [p.read_bytes() for p in second] == [payload("m1", 10_001)]
    assert (root / "HTA9_1_1" / "inner" / "deep.tif").read_bytes() == payload("m2", 10_002)
    done = [f for f in report.files if f.status is FileStatus.DONE]
    assert {f.bundle for f in done} == {uris[0]}
    cycle = [f for f in report.files if f.status is FileStatus.FAILED]
    assert cycle and "cycle" in (cycle[0].error or "")
    skipped = [f for f in report.files if f.status is FileStatus.SKIPPED]
    assert skipped and "duplicate" in (skipped[0].error or "")  # ok.tif is first.tif again


def test_a_real_crdc_key_goes_to_the_endpoint_mapped_for_its_host(
    standin: RealShapesServer, tmp_path: Path
) -> None:
    """A credentials.json from the CRDC portal names https://nci-crdc.datacommons.io/user (fence
    ``generate_api_key``); with that host mapped by ``[drs.endpoints]`` to a mirror (here the
    stand-in), the key is exchanged there and opens the controlled files. A host the map does
    not tie to the key's host never sees it."""
    srv = standin
    d = f"dg.4DFC/{UUIDS[1]}"
    srv.add(d, payload("k", 50_000), "controlled.tif", controlled=True)
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps(srv.api_key(iss=f"https://{CRDC_HOST}/user")))
    uri = f"drs://{CRDC_HOST}/{d}"
    ok = run_import([uri], tmp_path / "a", _options(srv, gen3_credentials=creds))
    assert ok.files[0].status is FileStatus.DONE and ok.files[0].verified, ok.files[0].error
    assert srv.exchanges == 1
    # Another commons (mapped too, but not for the key's host) never sees the key.
    with RealShapesServer(hostname="mirror.example.org") as other:
        other.add(d, payload("k", 50_000), "controlled.tif", controlled=True)
        endpoints = EndpointMap()
        endpoints.add(CRDC_HOST, srv.url)
        endpoints.add("mirror.example.org", other.url)
        opts = ImportOptions(endpoints=endpoints, gen3_credentials=creds)
        denied = run_import([other.drs_uri(d)], tmp_path / "b", opts)
        assert denied.files[0].status is FileStatus.FAILED
        assert "401" in (denied.files[0].error or "")
        assert other.exchanges == 0 and other.requests["access"] >= 1
    assert srv.exchanges == 1
