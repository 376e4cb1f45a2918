"""The ``cgc:`` destination, through the real sevenbridges SDK, against the workspace server.

The workspace stands in for CGC (real CGC is not reachable here); its quota is CGC's 500 files
per window with the window compressed to a few seconds by configuration, and the client's
limiter is given the same compressed window.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sevenbridges as sbg

from htan_cds.transfer import FileStatus
from htan_cds.transfer.source import SourceRow
from htan_cds.workspace.cgc_destination import CgcImporter, CgcLimits, parse_target
from htan_cds.workspace.ratelimit import SlidingWindow
from tests._servers import ServerProcess, start_server
from tests.conftest import run_cli
from tests.workspace.conftest import Workspace, drs_uri, make_token, write_workspace_config

pytestmark = pytest.mark.network
WINDOW = 3.0


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A workspace enforcing 500 files per 3 s (CGC's 500 per 300 s, compressed)."""
    home = tmp_path_factory.mktemp("wslim") / "home"
    home.mkdir()
    write_workspace_config(home, import_limit=500, import_window_seconds=WINDOW)
    token = make_token(home)
    with start_server(home, "--workspace", ready_path="/v2/user") as server:
        yield Workspace(server=server, token=token, home=home)


def _rows(server: ServerProcess, files: list[dict[str, Any]], n: int) -> list[SourceRow]:
    return [
        SourceRow(
            drs_uri=drs_uri(server, files[i % len(files)]["drs_id"]),
            name=f"f{i:04d}.bin",
            metadata={"row": str(i)},
            row_number=i + 1,
        )
        for i in range(n)
    ]


def _limits(limit: int) -> CgcLimits:
    return CgcLimits(files_per_window=limit, window_seconds=WINDOW, poll_initial=0.2, poll_max=1.0)


def test_parse_target() -> None:
    assert parse_target("cgc:alice/proj") == "alice/proj"
    for bad in ("cgc:alice", "cgc:/x", "s3://b/k", "cgc:a/b/c"):
        with pytest.raises(Exception, match="cgc"):
            parse_target(bad)


@pytest.mark.slow
def test_1200_items_batched_and_paced(
    limited: Workspace, demo_server: ServerProcess, demo_files: list[dict[str, Any]]
) -> None:
    api = sbg.Api(url=limited.api_url, token=limited.token, debug=True)
    api.projects.create(name="Big Import")
    importer = CgcImporter(
        "alice/big-import", url=limited.api_url, token=limited.token, limits=_limits(500)
    )
    done_at: list[float] = []

    def progress(event: Any) -> None:
        if event.kind == "done":
            done_at.append(time.monotonic())

    report = importer.run(
        _rows(demo_server, demo_files, 1200), conflict="SKIP", tags=["bulk"], progress=progress
    )
    stats = importer.stats
    assert [f.status for f in report.files].count(FileStatus.DONE) == 1200, [
        f.error for f in report.files if f.error
    ][:3]
    assert len(stats.batches) == 12 and max(stats.batches) <= 100
    assert stats.rate_limited == 0  # paced so the server never had to refuse
    # No window of WINDOW seconds saw more than 500 submitted files.
    times = stats.submit_times
    for i, t in enumerate(times):
        in_window = sum(b for b, s in zip(stats.batches, times, strict=True) if t - WINDOW < s <= t)
        assert in_window <= 500, (i, in_window)
    assert times[-1] - times[0] >= 2 * WINDOW - 0.5
    # Results of early batches were reported while later ones waited for the window.
    assert len(done_at) == 1200 and min(done_at) < times[-1]
    assert api.projects.get(id="alice/big-import")
    listed = api.files.query(project="alice/big-import", limit=1)
    assert listed.total == 1200


def test_server_429_is_absorbed(
    limited: Workspace, demo_server: ServerProcess, demo_files: list[dict[str, Any]]
) -> None:
    token = make_token(limited.home, label="bob")
    api = sbg.Api(url=limited.api_url, token=token, debug=True)
    api.projects.create(name="Eager")
    # The client believes it may send 1000 per window; the server allows 500 and says 429.
    limits = _limits(1000)
    importer = CgcImporter(
        "bob/eager",
        url=limited.api_url,
        token=token,
        limits=limits,
        limiter=SlidingWindow(1000, WINDOW),
    )
    report = importer.run(_rows(demo_server, demo_files, 600))
    assert importer.stats.rate_limited >= 1
    assert all(f.status is FileStatus.DONE for f in report.files)


def test_bad_rows_and_unknown_project(
    limited: Workspace, demo_server: ServerProcess, demo_files: list[dict[str, Any]]
) -> None:
    api = sbg.Api(url=limited.api_url, token=limited.token, debug=True)
    api.projects.create(name="Mixed")
    rows = [
        *_rows(demo_server, demo_files, 2),
        SourceRow(drs_uri="not a uri", name="bad.bin", row_number=3),
        SourceRow(
            drs_uri=drs_uri(demo_server, "dg.HCDS/00000000-0000-4000-8000-000000000000"),
            name="missing.bin",
            row_number=4,
        ),
    ]
    importer = CgcImporter(
        "alice/mixed", url=limited.api_url, token=limited.token, limits=_limits(500)
    )
    report = importer.run(rows)
    status = {f.row_number: f.status for f in report.files}
    assert status == {
        1: FileStatus.DONE,
        2: FileStatus.DONE,
        3: FileStatus.FAILED,
        4: FileStatus.FAILED,
    }
    again = importer.run(rows[:1])  # SKIP policy: the name exists now
    assert again.files[0].status is FileStatus.SKIPPED
    with pytest.raises(Exception, match="no-such"):
        CgcImporter(
            "alice/no-such", url=limited.api_url, token=limited.token, limits=_limits(500)
        ).run(rows[:1])


def test_cli_import_to_cgc(
    limited: Workspace, demo_server: ServerProcess, demo_files: list[dict[str, Any]], tmp_path: Path
) -> None:
    api = sbg.Api(url=limited.api_url, token=limited.token, debug=True)
    api.projects.create(name="From CLI")
    manifest = tmp_path / "manifest.csv"
    lines = ["name,drs_uri"] + [
        f"cli-{i}.bin,{drs_uri(demo_server, f['drs_id'])}" for i, f in enumerate(demo_files[:3])
    ]
    manifest.write_text("\n".join(lines) + "\n")
    env_token = {"SB_AUTH_TOKEN": limited.token}
    old = {k: os.environ.get(k) for k in env_token}
    os.environ.update(env_token)
    try:
        dry = run_cli(
            "import",
            str(manifest),
            "--to",
            "cgc:alice/from-cli",
            "--cgc-url",
            limited.api_url,
            "--dry-run",
            "--json",
        )
        assert dry.returncode == 0, dry.stderr
        assert json.loads(dry.stdout)["summary"]["skipped"] == 3
        assert list(api.files.query(project="alice/from-cli").all()) == []
        result = run_cli(
            "import",
            str(manifest),
            "--to",
            "cgc:alice/from-cli",
            "--cgc-url",
            limited.api_url,
            "--json",
        )
        bad = run_cli(
            "import", str(manifest), "--to", "cgc:alice/nope", "--cgc-url", limited.api_url
        )
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["done"] == 3
    assert sorted(f.name for f in api.files.query(project="alice/from-cli").all()) == [
        "cli-0.bin",
        "cli-1.bin",
        "cli-2.bin",
    ]
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "nope" in bad.stderr


def test_engine_hands_cgc_rows_over(
    limited: Workspace,
    demo_server: ServerProcess,
    demo_files: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``run_import(..., "cgc:…")`` goes through the engine's handoff seam to this destination."""
    from htan_cds.transfer import ImportOptions, run_import

    api = sbg.Api(url=limited.api_url, token=limited.token, debug=True)
    api.projects.create(name="Via Engine")
    monkeypatch.setenv("SB_API_ENDPOINT", limited.api_url)
    monkeypatch.setenv("SB_AUTH_TOKEN", limited.token)
    rows = _rows(demo_server, demo_files, 3)
    planned = run_import(rows, "cgc:alice/via-engine", ImportOptions(dry_run=True))
    assert [f.status for f in planned.files] == [FileStatus.SKIPPED] * 3
    report = run_import(rows, "cgc:alice/via-engine", ImportOptions())
    assert [f.status for f in report.files] == [FileStatus.DONE] * 3
    assert report.destination == "cgc:alice/via-engine"
