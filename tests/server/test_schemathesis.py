"""schemathesis with the official DRS 1.5.0 OpenAPI against a real ``htan-cds serve``.

Checks: no 5xx, status codes / content types / headers / bodies conform to the spec, unsupported
methods rejected, invalid auth refused. Not run: ``positive_data_acceptance`` (we answer 400 on
purpose for ids with control characters or dot segments and for empty bulk requests, which the
spec's schemas do not forbid) and ``missing_required_header`` (auth is optional in DRS: the spec
lists the empty security requirement ``{}``) and ``ignored_auth`` (with optional auth it flags
an answer either way: 200 for a bad token as "invalid auth accepted", or 401 for a bad token
and 200 without one as "accepts requests without authentication"; we refuse bad tokens).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from htan_cds.server.tokens import TokenStore
from tests._servers import ServerProcess
from tests.conftest import shared_path
from tests.server._catalog import SampleCommons

pytestmark = [pytest.mark.slow, pytest.mark.network]

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "unsupported_method",
    ]
)


def _run(url: str, tmp_path: Path, *extra: str, config: str | None = None) -> None:
    spec = shared_path("spec", "drs-1.5.0.openapi.yaml")
    cmd = [sys.executable, "-m", "schemathesis.cli"]
    if config is not None:
        cfg = tmp_path / "schemathesis.toml"
        cfg.write_text(config)
        cmd += ["--config-file", str(cfg)]
    cmd += [
        "run",
        str(spec),
        "--url",
        url + "/ga4gh/drs/v1",
        "--checks",
        CHECKS,
        "--seed",
        "20261124",
        "--workers",
        "1",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        *extra,
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "5xx" not in result.stdout


def test_schemathesis_fuzz_any_ids(live_server: ServerProcess, tmp_path: Path) -> None:
    _run(live_server.url, tmp_path, "--max-examples", "20", "--max-time", "45")


def test_schemathesis_known_objects(
    live_server: ServerProcess, commons: SampleCommons, tmp_path: Path
) -> None:
    # Fixing the path parameters to a served object (and sending a valid token rather than
    # generated credentials) reaches the 200 paths of every operation.
    blob = commons.open[0].drs_id
    token = TokenStore(commons.home).create(["phs002371"], label="schemathesis")
    config = f'[parameters]\nobject_id = {json.dumps(blob)}\naccess_id = "https"\n'
    _run(
        live_server.url,
        tmp_path,
        "--max-examples",
        "10",
        "--max-time",
        "40",
        "--phases",
        "examples,coverage,fuzzing",
        "-H",
        f"Authorization: Bearer {token}",
        config=config,
    )
