"""Third-party DRS clients from PyPI fetch objects from a real ``htan-cds serve``.

* ``ga4gh-drs-client`` (the ``drs get`` CLI): resolves, downloads through the access URL and
  validates the checksum; blobs and a biospecimen bundle. It speaks only https, so it talks to
  ``serve --ssl-certfile/--ssl-keyfile`` with a throwaway self-signed certificate (``-s``).
* ``drs-cli`` (``drs_cli.DRSClient``, pydantic models of DRS 1.1): object and access URL,
  with ids given as CRDC-style ``dg.XXXX/<uuid>`` (it percent-encodes the slash).

Each lives in a throwaway venv (their pins clash with ours: pydantic 1, old requests).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from htan_cds.server.tokens import TokenStore
from tests._servers import ServerProcess, self_signed_cert, start_server
from tests.server._catalog import SampleCommons
from tests.server._venvs import venv

pytestmark = [pytest.mark.slow, pytest.mark.network]


@pytest.fixture(scope="session")
def ga4gh_client() -> Path:
    return venv("ga4gh-drs-client", ["ga4gh-drs-client==0.1.7"])


@pytest.fixture(scope="session")
def drs_cli_python() -> Path:
    return venv("drs-cli", ["drs-cli==0.2.3", "pydantic<2", "requests"])


@pytest.fixture(scope="module")
def tls_server(commons: SampleCommons, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``htan-cds serve`` over https (self-signed) on the test commons; yields its base URL."""
    cert, key = self_signed_cert(tmp_path_factory.mktemp("tls"))
    tls = ("--ssl-certfile", str(cert), "--ssl-keyfile", str(key))
    with start_server(commons.home.root, *tls, scheme="https") as server:
        yield server.url


def _drs_get(python: Path, url: str, object_id: str, out: Path, *extra: str) -> str:
    drs = python.parent / "drs"
    # It saves to OUT/<id>/<name> with a non-recursive mkdir: give CRDC-style ids their parent.
    (out / "dg.HCDS").mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(drs), "get", url, object_id, "-d", "-v", "-s", "-o", str(out), "-V", "INFO", *extra],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result.stdout + result.stderr


def test_ga4gh_drs_client_downloads_and_validates(
    ga4gh_client: Path, tls_server: str, commons: SampleCommons, tmp_path: Path
) -> None:
    for f in (commons.open[0], next(x for x in commons.files if x.name == "big.bin")):
        out = tmp_path / hashlib.md5(f.drs_id.encode()).hexdigest()
        out.mkdir()
        log = _drs_get(ga4gh_client, tls_server, f.drs_id, out)
        assert json.loads(log[: log.index("\n}") + 2])["id"] == f.drs_id
        assert (out / f.drs_id / f.name).read_bytes() == f.data
        report = (out / "drs_download_report.txt").read_text()
        row = next(line.split("\t") for line in report.splitlines() if line.startswith(f.drs_id))
        assert "PASSED" in row and f.md5 in row, row  # it picks md5


def test_ga4gh_drs_client_fetches_a_bundle(
    ga4gh_client: Path, tls_server: str, commons: SampleCommons, tmp_path: Path
) -> None:
    # Its drs_uri parser takes the last path segment as the id (pre-1.2 style), so it cannot
    # follow contents whose ids hold a slash (dg.XXXX/<uuid>); this bundle's member has none.
    _drs_get(ga4gh_client, tls_server, "bundle/HTA9_1_3", tmp_path, "-x")
    members = [f for f in commons.files if f.biospecimen == "HTA9_1_3"]
    found = {p.name: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    for m in members:
        assert found.get(m.name) == m.data, sorted(found)


def test_ga4gh_drs_client_with_bearer_token(
    ga4gh_client: Path, tls_server: str, commons: SampleCommons, tmp_path: Path
) -> None:
    c = commons.controlled[0]
    token = TokenStore(commons.home).create(["phs002371"], label="ga4gh-drs-client")
    _drs_get(ga4gh_client, tls_server, c.drs_id, tmp_path, "-t", token)
    assert (tmp_path / c.drs_id / c.name).read_bytes() == c.data
    assert "PASSED" in (tmp_path / "drs_download_report.txt").read_text()


_DRS_CLI_SCRIPT = """
import json, sys, hashlib, requests
from drs_cli.client import DRSClient
from drs_cli.models import DrsObject, AccessURL, Error
port, token, ids = int(sys.argv[1]), sys.argv[2] or None, sys.argv[3:]
client = DRSClient(uri="http://127.0.0.1", port=port, token=token)
out = {}
for object_id in ids:
    obj = client.get_object(object_id=object_id)
    if isinstance(obj, Error):
        out[object_id] = {"error": obj.status_code}
        continue
    acc = client.get_access_url(object_id=object_id, access_id=obj.access_methods[0].access_id)
    data = requests.get(acc.url, timeout=30).content
    out[object_id] = {
        "name": obj.name, "size": obj.size,
        "sha256": [c.checksum for c in obj.checksums if c.type == "sha-256"][0],
        "got_sha256": hashlib.sha256(data).hexdigest(), "got_size": len(data),
    }
print(json.dumps(out))
"""


def _drs_cli(python: Path, port: int, token: str, ids: list[str]) -> dict[str, dict[str, object]]:
    result = subprocess.run(
        [str(python), "-c", _DRS_CLI_SCRIPT, str(port), token, *ids],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data: dict[str, dict[str, object]] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def test_drs_cli_fetches_objects(
    drs_cli_python: Path, live_server: ServerProcess, commons: SampleCommons
) -> None:
    ids = [f.drs_id for f in commons.open if f.data]
    got = _drs_cli(drs_cli_python, live_server.port, "", ids)
    for f in commons.open:
        if not f.data:
            continue
        row = got[f.drs_id]
        assert row["name"] == f.name and row["size"] == len(f.data)
        assert row["sha256"] == row["got_sha256"] == f.sha256


def test_drs_cli_controlled_needs_token(
    drs_cli_python: Path, live_server: ServerProcess, commons: SampleCommons
) -> None:
    c = commons.controlled[0]
    assert _drs_cli(drs_cli_python, live_server.port, "", [c.drs_id])[c.drs_id] == {"error": 401}
    token = TokenStore(commons.home).create(["phs002371"], label="drs-cli")
    row = _drs_cli(drs_cli_python, live_server.port, token, [c.drs_id])[c.drs_id]
    assert row["got_sha256"] == c.sha256
