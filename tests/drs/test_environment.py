"""HTTP like the rest of the user's machine (a CONNECT proxy on loopback, the CA bundle from
the environment), ``[drs.endpoints]`` read from config.toml by every resolving command, the
imaging commands through an indexd-shaped object, and the sync APIs inside a running loop."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import pytest

from htan_cds.imaging.info import read_image_info, read_image_info_async
from htan_cds.imaging.preview import render_preview, render_preview_async
from htan_cds.transfer import FileStatus, ImportOptions, import_async, run_import
from tests._servers import self_signed_cert
from tests.conftest import run_cli
from tests.drs.real_servers import CRDC_HOST, ConnectProxy, RealShapesServer
from tests.transfer.fault_server import payload

pytestmark = pytest.mark.network

UUID = "624649d2-7e68-11ee-8f1d-c3303a8d2065"
DID = f"dg.4DFC/{UUID}"


def _config(home: Path, url: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[drs.endpoints]\n"{CRDC_HOST}" = "{url}"\n')


def test_import_goes_through_the_https_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed_cert(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    data = payload("proxied", 300_000)
    with RealShapesServer(tls=tls) as srv, ConnectProxy() as proxy:
        srv.add(DID, data, "through-proxy.ome.tif")
        home = tmp_path / "home"
        _config(home, srv.url)
        for name in ("NO_PROXY", "no_proxy", "SSL_CERT_FILE", "HTTP_PROXY", "http_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # the institution's CA bundle
        result = run_cli("import", f"dg.4DFC/{UUID}", "--to", str(tmp_path / "d"), home=home)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "d" / "through-proxy.ome.tif").read_bytes() == data
        assert proxy.tunnels and set(proxy.tunnels) == {f"127.0.0.1:{srv.port}"}
        tunnels = len(proxy.tunnels)
        # info (imaging over httpx) honours the proxy and the CA bundle too.
        info = run_cli("info", f"drs://{CRDC_HOST}/{DID}", "--json", home=home)
        assert "not a readable TIFF" in info.stderr  # reached the bytes through the tunnel
        assert len(proxy.tunnels) > tunnels
        # NO_PROXY: straight to the server.
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        before = len(proxy.tunnels)
        again = run_cli("import", f"dg.4DFC/{UUID}", "--to", str(tmp_path / "e"), home=home)
        assert again.returncode == 0, again.stderr
        assert len(proxy.tunnels) == before
        # Without the CA bundle the self-signed server is refused: TLS is verified.
        monkeypatch.delenv("REQUESTS_CA_BUNDLE")
        refused = run_cli("import", DID, "--to", str(tmp_path / "f"), "--json", home=home)
        assert refused.returncode == 1
        error = json.loads(refused.stdout)["files"][0]["error"]
        assert "certificate" in error.lower() or "ssl" in error.lower(), error


def _serve_image(srv: RealShapesServer, image: Path) -> str:
    # An indexd record of a real OME-TIFF: mime_type application/json, gs + s3 methods, md5.
    srv.add(DID, image.read_bytes(), image.name)
    return f"drs://{CRDC_HOST}/{DID}"


def test_info_and_preview_through_the_indexd_object(shared: Path, tmp_path: Path) -> None:
    image = shared / "data" / "images" / "2048x2048_ome6_tiled.ome.tif"
    with RealShapesServer() as srv:
        uri = _serve_image(srv, image)
        home = tmp_path / "home"
        _config(home, srv.url)
        info = run_cli("info", f"dg.4DFC:{UUID}", "--json", home=home)
        assert info.returncode == 0, info.stderr
        payload_ = json.loads(info.stdout)
        assert (payload_["size_x"], payload_["size_c"]) == (2048, 3)
        assert payload_["bytes_read"] < image.stat().st_size  # ranges, not a download
        out = tmp_path / "p.png"
        preview = run_cli("preview", uri, "-o", str(out), "--max-size", "256", home=home)
        assert preview.returncode == 0, preview.stderr
        assert out.stat().st_size > 1000
        assert srv.requests["access"] >= 2  # the signed URL from fence-style /access each time


def test_info_on_a_bundle_lists_its_members(tmp_path: Path) -> None:
    with RealShapesServer() as srv:
        srv.add(DID, b"x" * 10, "m.tif")
        srv.add_bundle("dg.4DFC/b1", "HTA9_1_1", [(DID, "m.tif")])
        home = tmp_path / "home"
        _config(home, srv.url)
        result = run_cli("info", f"drs://{CRDC_HOST}/dg.4DFC/b1", "--json", home=home)
        assert result.returncode == 0, result.stderr
        listed = json.loads(result.stdout)
        assert listed["bundle"] is True and listed["name"] == "HTA9_1_1"
        assert listed["members"] == [{"name": "m.tif", "drs_uri": f"drs://{CRDC_HOST}/{DID}"}]
        human = run_cli("info", f"drs://{CRDC_HOST}/dg.4DFC/b1", home=home)
        assert "m.tif" in human.stdout and "bundle" in human.stdout


def test_sync_apis_inside_a_running_event_loop(
    shared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = shared / "data" / "images" / "2048x2048_ome6_tiled.ome.tif"
    with RealShapesServer() as srv:
        uri = _serve_image(srv, image)
        monkeypatch.setenv("HTAN_CDS_DRS_ENDPOINTS", f"{CRDC_HOST}={srv.url}")
        monkeypatch.setenv("HTAN_CDS_HOME", str(tmp_path / "home"))

        async def notebook_cell() -> None:
            asyncio.get_running_loop()  # as in Jupyter: a loop is running
            report = run_import([uri], tmp_path / "a", ImportOptions())
            assert report.files[0].status is FileStatus.DONE and report.files[0].verified
            info = read_image_info(uri)
            assert info.size_x == 2048
            assert render_preview(uri, max_size=128).size[0] <= 128
            again = await import_async([uri], tmp_path / "b", ImportOptions())
            assert again.files[0].status is FileStatus.DONE
            assert (await read_image_info_async(uri)).size_c == 3
            assert (await render_preview_async(uri, max_size=64)).size[0] <= 64

        asyncio.run(notebook_cell())
    assert (tmp_path / "a" / image.name).read_bytes() == image.read_bytes()
