"""The GA4GH drs-compliance-suite 1.0.3 (DRS 1.2.0) against ``serve --drs-compat 1.2``.

Its wheel is broken as published; the venv works around it: the top-level
``supported_drs_versions`` module it imports is missing (written here), ``jsonschema`` is
undeclared, and its pinned Flask 2.2 needs Werkzeug < 3.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from htan_cds.server.tokens import TokenStore
from tests._servers import ServerProcess
from tests.server._catalog import SampleCommons
from tests.server._venvs import venv

pytestmark = [pytest.mark.slow, pytest.mark.network]

REQUIREMENTS = ["drs-compliance-suite==1.0.3", "jsonschema", "werkzeug<3"]
MISSING_MODULE = {"supported_drs_versions.py": 'SUPPORTED_DRS_VERSIONS = ["1.2.0"]\n'}


@pytest.fixture(scope="session")
def suite_python() -> Path:
    return venv("drs-compliance", REQUIREMENTS, extra_files=MISSING_MODULE)


def _cases(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for phase in report["phases"]:
        for test in phase["tests"]:
            for case in test["cases"]:
                out.append((test["test_name"], case["case_name"], case["status"]))
    return out


def test_compliance_suite_all_cases_pass(
    suite_python: Path, live_server12: ServerProcess, commons: SampleCommons, tmp_path: Path
) -> None:
    token = TokenStore(commons.home).create(["phs002371"], label="compliance suite")
    blob, other = commons.open[0], commons.open[2]
    secret = commons.controlled[0]
    config = {
        "service_info": {"auth_type": "none", "auth_token": ""},
        "drs_object_info": [
            {"drs_id": blob.drs_id, "auth_type": "none", "auth_token": "", "is_bundle": False},
            {"drs_id": other.drs_id, "auth_type": "none", "auth_token": "", "is_bundle": False},
            {"drs_id": "bundle/HTA9_1_1", "auth_type": "none", "auth_token": "", "is_bundle": True},
            {
                "drs_id": secret.drs_id,
                "auth_type": "bearer",
                "auth_token": token,
                "is_bundle": False,
            },
        ],
        "drs_object_access": [
            {"drs_id": blob.drs_id, "auth_type": "none", "auth_token": ""},
            {"drs_id": other.drs_id, "auth_type": "none", "auth_token": ""},
            {"drs_id": secret.drs_id, "auth_type": "bearer", "auth_token": token},
        ],
    }
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config))
    report_path = tmp_path / "report.json"
    result = subprocess.run(
        [
            str(suite_python),
            "-m",
            "compliance_suite.report_runner",
            "--server_base_url",
            live_server12.url + "/ga4gh/drs/v1",
            "--platform_name",
            "htan-cds",
            "--platform_description",
            "htan-cds test commons",
            "--drs_version",
            "1.2.0",
            "--config_file",
            str(config_path),
            "--report_path",
            str(report_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(report_path.read_text())
    cases = _cases(report)
    assert len(cases) >= 25
    failed = [c for c in cases if c[2] not in ("PASS", "SKIP")]
    assert not failed, failed
    assert report["summary"]["failed"] == 0
    assert report["summary"]["passed"] >= 25
