"""The real, unmodified sevenbridges-python SDK drives the workspace over HTTP.

Two real servers on loopback: the demo commons (DRS source) and ``htan-cds serve --workspace``
with its own home. Imported bytes are checked against the commons' sha-256 checksums.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sevenbridges as sbg
from sevenbridges.errors import BadRequest, NotFound, Unauthorized

from tests._servers import ServerProcess
from tests.conftest import run_cli
from tests.workspace.conftest import Workspace, drs_uri

pytestmark = pytest.mark.network


def _wait_finished(api: Any, job_id: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        job = api.drs_imports.bulk_get(job_id)
        if not seen or seen[-1] != job.state:
            seen.append(job.state)
        if job.state == "FINISHED":
            return job, seen
        assert time.monotonic() < deadline, f"import still {job.state}"
        time.sleep(0.2)


def _project(api: Any, name: str) -> Any:
    return api.projects.create(name=name)


def test_user_and_projects(workspace: Workspace, sdk: Any) -> None:
    api = sdk(workspace)
    me = api.users.me()
    assert me.username == "alice"
    project = _project(api, "Projects Test")
    assert project.id == "alice/projects-test"
    ids = [p.id for p in api.projects.query().all()]
    assert "alice/projects-test" in ids
    assert api.projects.get(id="alice/projects-test").name == "Projects Test"
    with pytest.raises(sbg.errors.Conflict) as exc:
        _project(api, "Projects Test")
    assert exc.value.code == 3003


def test_bulk_import_bytes_match_commons(
    workspace: Workspace, demo_server: ServerProcess, demo_files: list[dict[str, Any]], sdk: Any
) -> None:
    api = sdk(workspace)
    project = _project(api, "Imaging L2")
    chosen = demo_files[:4]
    imports = [
        {
            "drs_uri": drs_uri(demo_server, f["drs_id"]),
            "project": project.id,
            "name": f"{i}-{f['name']}",
            "metadata": {"HTAN_Center": "HTAN Demo", "row": i},
        }
        for i, f in enumerate(chosen)
    ]
    # One item without a name takes the DRS object's own name, as CGC does.
    imports.append({"drs_uri": drs_uri(demo_server, chosen[0]["drs_id"]), "project": project.id})
    submitted = api.drs_imports.bulk_submit(imports, tags=["htan", "demo"])
    assert submitted.state in ("PENDING", "RUNNING", "FINISHED")
    job, states = _wait_finished(api, submitted.id)
    assert states[-1] == "FINISHED" and set(states) <= {"PENDING", "RUNNING", "FINISHED"}
    assert len(job.result) == 5
    assert all(r.error is None for r in job.result), [str(r) for r in job.result]
    # result_files gives FileBulkRecords; the SDK caches them on the class, so keep this job's.
    ids = {r.resource.id for r in job.result}
    records = job.result_files
    assert records is not None
    files = [rec.resource for rec in records if rec.resource.id in ids]
    assert len(files) == 5
    by_name = {f.name: f for f in files}
    assert chosen[0]["name"] in by_name  # the unnamed item
    for i, f in enumerate(chosen):
        record = by_name[f"{i}-{f['name']}"]
        assert record.size == f["size"]
        assert record.tags == ["htan", "demo"]
        assert record.metadata["row"] == str(i)
        info = record.download_info()
        body = httpx.get(info.url, timeout=30).content
        assert hashlib.sha256(body).hexdigest() == f["sha256"]
    listed = list(api.files.query(project=project.id).all())
    assert {f.name for f in listed} == set(by_name)
    bulk = api.files.bulk_get([f.id for f in files])
    assert all(rec.valid for rec in bulk)


def test_conflict_policies(
    workspace: Workspace, demo_server: ServerProcess, demo_files: list[dict[str, Any]], sdk: Any
) -> None:
    api = sdk(workspace)
    project = _project(api, "Conflicts")
    item = {"drs_uri": drs_uri(demo_server, demo_files[0]["drs_id"]), "name": "same.bin"}
    first, _ = _wait_finished(
        api, api.drs_imports.bulk_submit([{**item, "project": project.id}]).id
    )
    assert first.result[0].resource is not None
    skipped, _ = _wait_finished(
        api, api.drs_imports.bulk_submit([{**item, "project": project.id}]).id
    )
    assert skipped.result[0].error is not None
    assert skipped.result[0].error.status == 409 and skipped.result[0].error.code == 5003
    renamed, _ = _wait_finished(
        api,
        api.drs_imports.bulk_submit(
            [{**item, "project": project.id}], conflict_resolution="RENAME"
        ).id,
    )
    assert renamed.result[0].resource.name == "_1_same.bin"
    over, _ = _wait_finished(
        api,
        api.drs_imports.bulk_submit(
            [{**item, "project": project.id}], conflict_resolution="OVERWRITE"
        ).id,
    )
    assert over.result[0].resource.id == first.result[0].resource.id
    names = sorted(f.name for f in api.files.query(project=project.id).all())
    assert names == ["_1_same.bin", "same.bin"]


def test_per_item_errors_are_reported(
    workspace: Workspace, demo_server: ServerProcess, demo_files: list[dict[str, Any]], sdk: Any
) -> None:
    api = sdk(workspace)
    project = _project(api, "Partial")
    good = drs_uri(demo_server, demo_files[1]["drs_id"])
    missing = drs_uri(demo_server, "dg.HCDS/00000000-0000-4000-8000-000000000000")
    job, _ = _wait_finished(
        api,
        api.drs_imports.bulk_submit(
            [
                {"drs_uri": good, "project": project.id, "name": "good.bin"},
                {"drs_uri": missing, "project": project.id, "name": "missing.bin"},
            ]
        ).id,
    )
    assert job.result[0].resource.name == "good.bin"
    err = job.result[1].error
    assert err is not None and err.status == 404 and err.message
    assert [f.name for f in api.files.query(project=project.id).all()] == ["good.bin"]


def test_bad_input_gives_sb_errors(
    workspace: Workspace, demo_server: ServerProcess, sdk: Any
) -> None:
    api = sdk(workspace)
    project = _project(api, "Bad Input")
    uri = drs_uri(demo_server, "dg.HCDS/x")
    with pytest.raises(BadRequest) as too_many:
        api.drs_imports.bulk_submit(
            [{"drs_uri": uri, "project": project.id, "name": f"f{i}"} for i in range(101)]
        )
    assert too_many.value.code == 9101 and "100" in too_many.value.message
    with pytest.raises(NotFound) as unknown:
        api.drs_imports.bulk_submit([{"drs_uri": uri, "project": "alice/no-such-project"}])
    assert unknown.value.code == 3002
    with pytest.raises(BadRequest) as malformed:
        api.drs_imports.bulk_submit([{"drs_uri": "https://example.org/x", "project": project.id}])
    assert "drs_uri" in malformed.value.message
    with pytest.raises(NotFound):
        api.drs_imports.bulk_get("0" * 32)
    bad = sdk(workspace, token="hcds_000000000000_not-a-real-secret")
    with pytest.raises(Unauthorized) as unauth:
        bad.users.me()
    assert unauth.value.status == 401
    raw = httpx.post(
        workspace.api_url + "/bulk/drs/imports/create",
        content=b"{not json",
        headers={"X-SBG-Auth-Token": workspace.token},
    )
    body = raw.json()
    assert raw.status_code == 400 and set(body) == {"status", "code", "message", "more_info"}
    # Nothing of the refused calls was imported.
    assert list(api.files.query(project=project.id).all()) == []


def test_imported_files_are_served_over_drs(
    workspace: Workspace,
    demo_server: ServerProcess,
    demo_files: list[dict[str, Any]],
    sdk: Any,
    tmp_path: Path,
) -> None:
    api = sdk(workspace)
    project = _project(api, "Pass On")
    source = demo_files[2]
    job, _ = _wait_finished(
        api,
        api.drs_imports.bulk_submit(
            [{"drs_uri": drs_uri(demo_server, source["drs_id"]), "project": project.id}]
        ).id,
    )
    file_id = job.result[0].resource.id
    url = f"{workspace.server.url}/ga4gh/drs/v1/objects/hcds-ws/{file_id}"
    assert httpx.get(url, timeout=10).status_code == 401
    auth = {"Authorization": f"Bearer {workspace.token}"}
    obj = httpx.get(url, headers=auth, timeout=10).json()
    assert obj["id"] == f"hcds-ws/{file_id}" and obj["size"] == source["size"]
    assert {"type": "sha-256", "checksum": source["sha256"]} in obj["checksums"]
    access = httpx.get(url + "/access/https", headers=auth, timeout=10).json()
    assert (
        hashlib.sha256(httpx.get(access["url"], timeout=30).content).hexdigest() == source["sha256"]
    )
    bulk = httpx.post(
        f"{workspace.server.url}/ga4gh/drs/v1/objects",
        json={"bulk_object_ids": [obj["id"]]},
        headers=auth,
        timeout=10,
    ).json()
    assert bulk["summary"]["resolved"] == 1
    # The import engine takes the workspace's files on, as it takes a commons'.
    out = tmp_path / "passed-on"
    uri = f"drs://127.0.0.1:{workspace.server.port}/{obj['id']}"
    result = run_cli("import", uri, "--to", str(out), "--token", workspace.token, "--json")
    assert result.returncode == 0, result.stderr
    (done,) = [p for p in out.iterdir() if p.is_file()]
    assert hashlib.sha256(done.read_bytes()).hexdigest() == source["sha256"]
