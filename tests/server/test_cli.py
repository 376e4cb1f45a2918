"""``htan-cds token create|list|revoke`` and ``htan-cds serve`` argument checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from htan_cds.config import DataHome
from htan_cds.server.tokens import TokenStore
from tests._servers import free_port, stop_process
from tests.conftest import run_cli


def test_token_lifecycle(home: Path) -> None:
    made = run_cli("token", "create", "--grant", "phs002371", "--grant", "phs000999.c1", home=home)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("hcds_") and "\n" not in token
    store = TokenStore(DataHome.open(home))
    info = store.verify(token)
    assert info is not None and info.grants == ("phs002371", "phs000999.c1")

    listed = run_cli("token", "list", "--json", home=home)
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == [info.id] and rows[0]["active"] is True
    assert token not in listed.stdout

    as_json = run_cli("token", "create", "--grant", "phs1", "--label", "x", "--json", home=home)
    data = json.loads(as_json.stdout)
    assert data["token"].startswith("hcds_") and data["grants"] == ["phs1"]

    revoked = run_cli("token", "revoke", info.id, "--json", home=home)
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["active"] is False
    assert store.verify(token) is None


def test_token_errors_are_one_line(home: Path) -> None:
    r = run_cli("token", "revoke", "nope", home=home)
    assert r.returncode == 2 and "no token with id" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("token", "create", "--grant", " ", home=home)
    assert r.returncode == 2 and "at least one --grant" in r.stderr


def test_serve_rejects_bad_options(home: Path) -> None:
    for args, text in (
        (("--drs-compat", "1.1"), "supports only 1.2"),
        (("--public-url", "ftp://x"), "must start with http"),
        (("--store", "gs://bucket"), "folder or s3://"),
        (("--ssl-certfile", "x.pem"), "go together"),
    ):
        r = run_cli("serve", "--port", "1", *args, home=home, timeout=30)
        assert r.returncode == 2, (args, r.stderr)
        assert text in r.stderr and "Traceback" not in r.stderr


@pytest.mark.network
@pytest.mark.parametrize("command", [["serve", "--workspace"], ["workspace", "serve"]])
def test_serve_says_where_as_one_json_line(home: Path, command: list[str]) -> None:
    """A script starting a server reads one JSON line, then polls the URL it names."""
    port = free_port()
    argv = [sys.executable, "-m", "htan_cds.cli.main", "--home", str(home), *command]
    proc = subprocess.Popen(
        [*argv, "--port", str(port), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")},
    )
    try:
        assert proc.stdout is not None
        said = json.loads(proc.stdout.readline())
        assert said["url"] == f"http://127.0.0.1:{port}" and said["pid"] == proc.pid
        assert said["workspace"] == f"http://127.0.0.1:{port}/v2"
        assert said["home"] == str(DataHome.open(home).root)
        probe = said.get("drs", said["workspace"]) + ("/service-info" if "drs" in said else "/user")
        deadline = time.monotonic() + 30
        while True:
            try:
                status = httpx.get(probe, timeout=5).status_code
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
        assert status in (200, 401)  # the workspace's /v2/user wants a token
    finally:
        stop_process(proc)
