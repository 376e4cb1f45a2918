"""``serve --nginx-accel``: the app checks signatures, a front nginx sends the bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests._servers import start_server
from tests.conftest import free_port
from tests.server._catalog import SampleCommons

pytestmark = [pytest.mark.network]

API = "/ga4gh/drs/v1"


@pytest.fixture(scope="module")
def accel(commons: SampleCommons, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed")
    root = tmp_path_factory.mktemp("nginx")
    (root / "tmp").mkdir()
    nginx_port, app_port = free_port(), free_port()
    public = f"http://127.0.0.1:{nginx_port}"
    user = "user root;" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(
        f"""{user}
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp; uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{nginx_port};
        location / {{ proxy_pass http://127.0.0.1:{app_port}; proxy_set_header Host $http_host; }}
        location /_objects/ {{ internal; alias {commons.home.objects_dir}/; }}
    }}
}}
"""
    )
    proc = subprocess.Popen(
        ["nginx", "-c", str(root / "nginx.conf"), "-p", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with start_server(
            commons.home.root,
            "--nginx-accel",
            "/_objects/",
            "--public-url",
            public,
            port=app_port,
        ):
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx.get(public + API + "/service-info").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, (root / "error.log").read_text()
                time.sleep(0.1)
            yield public
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_nginx_sends_the_bytes(accel: str, commons: SampleCommons) -> None:
    f = commons.open[0]
    url = httpx.get(f"{accel}{API}/objects/{f.drs_id}/access/https").json()["url"]
    assert url.startswith(accel + "/bytes/")
    r = httpx.get(url)
    assert r.status_code == 200 and r.content == f.data
    assert "nginx" in r.headers.get("server", "")
    part = httpx.get(url, headers={"Range": "bytes=5-14"})
    assert part.status_code == 206 and part.content == f.data[5:15]
    assert part.headers["content-range"] == f"bytes 5-14/{len(f.data)}"


def test_nginx_still_refuses_bad_signatures(accel: str, commons: SampleCommons) -> None:
    f = commons.open[0]
    url = httpx.get(f"{accel}{API}/objects/{f.drs_id}/access/https").json()["url"]
    bad = httpx.get(url[:-3] + "AAA")
    assert bad.status_code == 403 and f.data[:8] not in bad.content
    internal = httpx.get(f"{accel}/_objects/{f.sha256[:2]}/{f.sha256[2:4]}/{f.sha256}")
    assert internal.status_code == 404
