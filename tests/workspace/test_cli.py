"""``htan-cds workspace ...`` commands, and the stand-alone ``workspace serve``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port, run_cli
from tests.workspace.conftest import make_token


def test_project_and_listing_commands(home: Path) -> None:
    made = run_cli(
        "workspace", "project", "create", "My Study", "--owner", "alice", "--json", home=home
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["id"] == "alice/my-study"
    again = run_cli("workspace", "project", "create", "My Study", "--owner", "alice", home=home)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
    listed = run_cli("workspace", "project", "list", "--json", home=home)
    assert [p["id"] for p in json.loads(listed.stdout)] == ["alice/my-study"]
    files = run_cli("workspace", "files", "alice/my-study", "--json", home=home)
    assert json.loads(files.stdout) == []
    missing = run_cli("workspace", "files", "alice/nope", home=home)
    assert missing.returncode == 2 and "no project alice/nope" in missing.stderr
    jobs = run_cli("workspace", "jobs", "--json", home=home)
    assert json.loads(jobs.stdout) == []
    job = run_cli("workspace", "job", "0" * 32, home=home)
    assert job.returncode == 2 and "no import job" in job.stderr


@pytest.mark.network
def test_standalone_workspace_serve(home: Path) -> None:
    token = make_token(home)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "htan_cds.cli.main",
            "--home",
            str(home),
            "workspace",
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = httpx.get(
                    f"http://127.0.0.1:{port}/v2/user", headers={"X-SBG-Auth-Token": token}
                )
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.2)
        assert resp.json()["username"] == "alice"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
