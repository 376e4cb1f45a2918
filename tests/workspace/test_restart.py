"""Import jobs survive a server restart: persisted, resumed on startup, finished items kept."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
import sevenbridges as sbg

from htan_cds.config import DataHome
from htan_cds.workspace.store import ItemRequest, WorkspaceStore
from tests._servers import ServerProcess, start_server
from tests.workspace.conftest import drs_uri, make_token, write_workspace_config

pytestmark = pytest.mark.network


def test_jobs_resume_after_restart(
    tmp_path: Path, demo_server: ServerProcess, demo_files: list[dict[str, Any]]
) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    write_workspace_config(home)
    token = make_token(home)
    uris = [drs_uri(demo_server, f["drs_id"]) for f in demo_files[:3]]

    # The state a stopped (or killed) server leaves: one job never started, one mid-way.
    store = WorkspaceStore.open(DataHome.open(home))
    store.create_project("alice", "Resume")
    pending = store.create_job(
        "alice",
        [
            ItemRequest(drs_uri=u, project="alice/resume", name=f"p{i}.bin")
            for i, u in enumerate(uris)
        ],
        tags=["resumed"],
        conflict="SKIP",
    )
    running = store.create_job(
        "alice",
        [
            ItemRequest(drs_uri=u, project="alice/resume", name=f"r{i}.bin")
            for i, u in enumerate(uris)
        ],
        tags=[],
        conflict="SKIP",
    )
    store.set_job_state(running.id, "RUNNING")
    early = store.add_file(
        "alice/resume",
        "r0.bin",
        store.objects.put_stream(io.BytesIO(b"imported before the restart")),
        metadata={},
        tags=[],
        source_drs_uri=uris[0],
    )
    store.finish_item(running.id, 0, file_id=early.id)
    store.close()

    # The readiness probe is a DRS route: nothing of the workspace is asked before the check.
    with start_server(home, "--workspace") as server:
        watcher = WorkspaceStore.open(DataHome.open(home))
        deadline = time.monotonic() + 90
        try:
            while True:
                states = [watcher.get_job(j.id).state for j in (pending, running)]  # type: ignore[union-attr]
                if states == ["FINISHED", "FINISHED"]:
                    break
                assert time.monotonic() < deadline, states
                time.sleep(0.3)
        finally:
            watcher.close()
        api = sbg.Api(url=server.url + "/v2", token=token, debug=True)
        jobs = [api.drs_imports.bulk_get(j.id) for j in (pending, running)]
    first, second = jobs
    assert [r.resource.name for r in first.result] == ["p0.bin", "p1.bin", "p2.bin"]
    assert all(r.resource.tags == ["resumed"] for r in first.result)
    assert second.result[0].resource.id == early.id  # not redone
    assert second.result[0].resource.size == len(b"imported before the restart")
    assert [r.resource.name for r in second.result[1:]] == ["r1.bin", "r2.bin"]


def test_several_worker_processes_run_each_job_once(
    tmp_path: Path, demo_server: ServerProcess, demo_files: list[dict[str, Any]]
) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    write_workspace_config(home)
    token = make_token(home)
    uris = [drs_uri(demo_server, f["drs_id"]) for f in demo_files[:3]]
    with start_server(home, "--workspace", "--workers", "2", ready_path="/v2/user") as server:
        api = sbg.Api(url=server.url + "/v2", token=token, debug=True)
        project = api.projects.create(name="Workers")
        ids = [
            api.drs_imports.bulk_submit(
                [
                    {"drs_uri": u, "project": project.id, "name": f"j{j}-{i}.bin"}
                    for i, u in enumerate(uris)
                ]
            ).id
            for j in range(4)
        ]
        deadline = time.monotonic() + 90
        while True:
            jobs = [api.drs_imports.bulk_get(i) for i in ids]
            if all(j.state == "FINISHED" for j in jobs):
                break
            assert time.monotonic() < deadline
            time.sleep(0.3)
    # Had two processes run a job, the second pass would have hit SKIP conflicts.
    assert all(r.resource is not None for j in jobs for r in j.result), [
        str(r.error) for j in jobs for r in j.result if r.error
    ]
