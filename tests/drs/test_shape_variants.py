"""Other members of the kinds issue 12 names, each through a whole import against the
stand-in of real_servers.py: checksum type spellings beyond the IANA names (upper case,
``sha_256``, GA4GH's ``trunc512``, a weak-marked ETag), one unusable checksum entry beside a
good one, AccessURL headers on the ``/access`` answer in both shapes, an object whose
``self_uri``, time zone and integer size are not as the schema says, and bundle members named
only by a ``drs_uri`` (one string rather than the schema's list)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from htan_cds.drs.access_methods import PublicCloud
from htan_cds.drs.endpoints import EndpointMap
from htan_cds.transfer import FileStatus, ImportOptions, run_import
from tests.drs.real_servers import CRDC_HOST, RealShapesServer
from tests.transfer.fault_server import payload

pytestmark = pytest.mark.network

UUIDS = [f"5a5e0{i:03d}-7e68-11ee-8f1d-c3303a8d2065" for i in range(12)]


@pytest.fixture
def standin() -> Iterator[RealShapesServer]:
    with RealShapesServer() as srv:
        yield srv


def _options(srv: RealShapesServer) -> ImportOptions:
    endpoints = EndpointMap()
    endpoints.add(CRDC_HOST, srv.url)
    return ImportOptions(
        endpoints=endpoints, public_cloud=PublicCloud(s3=srv.url + "/s3", gs=srv.url + "/gcs")
    )


def _no_self_uri(answer: dict[str, Any]) -> None:
    # DRS 1.5 requires self_uri, integer size and RFC 3339 times; a sloppy server may not.
    answer.pop("self_uri")
    answer["size"] = str(answer["size"])
    answer["created_time"] = "2023-11-07 18:03:41"


def _null_checksum_first(answer: dict[str, Any]) -> None:
    answer["checksums"].insert(0, {"type": "sha-256", "checksum": None})
    answer["checksums"].insert(0, {"checksum": "00" * 16})


def test_checksum_spellings_headers_and_sloppy_objects(
    standin: RealShapesServer, tmp_path: Path
) -> None:
    srv = standin
    d = [f"dg.4DFC/{u}" for u in UUIDS]
    data = [payload(f"v{i}", 30_000 + 101 * i) for i in range(8)]
    srv.add(d[0], data[0], "a.tif", hashes={"SHA_256": hashlib.sha256(data[0]).hexdigest()})
    srv.add(d[1], data[1], "b.tif", hashes={"MD5": hashlib.md5(data[1]).hexdigest().upper()})
    srv.add(d[2], data[2], "c.tif", hashes={"trunc512": hashlib.sha512(data[2]).hexdigest()[:48]})
    weak = f'W/"{hashlib.md5(data[3]).hexdigest()}"'
    srv.add(d[3], data[3], "d.tif", shape="access-headers-list", hashes={"ETag": weak})
    srv.add(
        d[4],
        data[4],
        "e.tif",
        shape="access-headers-object",
        hashes={"SHA2-512": hashlib.sha512(data[4]).hexdigest()},
    )
    srv.add(d[5], data[5], "f.tif").tweak = _no_self_uri
    srv.add(d[6], data[6], "g.tif").tweak = _null_checksum_first
    wrong = srv.add(d[7], data[7], "h.tif", hashes={"Sha_256": hashlib.sha256(b"x").hexdigest()})
    assert wrong.hashes
    uris = [srv.drs_uri(x) for x in d[:8]]
    report = run_import(uris, tmp_path / "d", _options(srv))
    by_name = {Path(f.path or f.drs_uri).name: f for f in report.files}
    for i, name in enumerate("abcdefg"):
        entry = by_name[f"{name}.tif"]
        assert entry.status is FileStatus.DONE, (name, entry.error)
        assert entry.verified is True, name
        assert (tmp_path / "d" / f"{name}.tif").read_bytes() == data[i]
    assert by_name["a.tif"].checksum_type == "sha_256"
    assert by_name["d.tif"].checksum_type == "etag"
    assert by_name["g.tif"].checksum_type == "md5"
    # A wrong checksum in an odd spelling still fails the file, and nothing is left under its name.
    assert by_name["h.tif"].status is FileStatus.FAILED
    assert not (tmp_path / "d" / "h.tif").exists()


def test_bundle_members_named_only_by_a_drs_uri(standin: RealShapesServer, tmp_path: Path) -> None:
    srv = standin
    d = [f"dg.4DFC/{u}" for u in UUIDS[8:11]]
    data = [payload(f"m{i}", 12_000 + i) for i in range(3)]
    for did, content, name in zip(d, data, ("x.tif", "y.tif", "z.tif"), strict=True):
        srv.add(did, content, name)
    # DRS 1.5 ContentsObject requires a name and types drs_uri as a list; these members have
    # no name (two of them, so their paths must differ) and one gives drs_uri as a string.
    srv.add_bundle(
        "dg.4DFC/sloppy-bundle",
        "HTA9_2_1",
        [],
        contents=[
            {"drs_uri": [srv.drs_uri(d[0])]},
            {"drs_uri": srv.drs_uri(d[1])},
            {"name": "named.tif", "drs_uri": srv.drs_uri(d[2])},
        ],
    )
    report = run_import([srv.drs_uri("dg.4DFC/sloppy-bundle")], tmp_path / "d", _options(srv))
    done = [f for f in report.files if f.status is FileStatus.DONE]
    assert len(done) == 3, [(f.path, f.error) for f in report.files]
    folder = tmp_path / "d" / "HTA9_2_1"
    assert (folder / UUIDS[8]).read_bytes() == data[0]
    assert (folder / UUIDS[9]).read_bytes() == data[1]
    assert (folder / "named.tif").read_bytes() == data[2]
