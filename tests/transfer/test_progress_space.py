"""The rich progress display and the free-space check."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from htan_cds.errors import TransferError
from htan_cds.transfer import (
    ImportOptions,
    ProgressEvent,
    RichProgress,
    register_destination,
    run_import,
)
from htan_cds.transfer.destinations import LocalDestination
from tests.transfer.fault_server import FaultServer, payload


def test_rich_progress_renders_totals_and_largest_files() -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False)
    with RichProgress(console) as display:
        display(ProgressEvent("plan", nbytes=60 << 20, files=3))
        display(ProgressEvent("start", drs_uri="a", path="x/big.ome.tif", size=50 << 20))
        display(ProgressEvent("bytes", drs_uri="a", nbytes=10 << 20))
        display(ProgressEvent("start", drs_uri="b", path="small.csv", size=10 << 20))
        display(ProgressEvent("done", drs_uri="b", path="small.csv", size=10 << 20))
        display(ProgressEvent("skipped", drs_uri="c", size=0))
        display(ProgressEvent("failed", drs_uri="a", error="boom"))
    text = out.getvalue()
    assert "files 2/3, 1 skipped, 1 failed" in text


class _TinyDisk(LocalDestination):
    """A local folder that reports almost no free space (stands in for a full disk)."""

    def free_space(self) -> int | None:
        return 1000


@pytest.mark.network
def test_free_space_is_checked_before_starting(tmp_path: Path) -> None:
    register_destination("tinydisk", lambda dest, _o: _TinyDisk(dest.split(":", 1)[1]))
    with FaultServer() as srv:
        # Each fits in the 1000 bytes free, the two together do not: refused before a byte.
        uris = [srv.uri(srv.add(f"half{i}", payload(f"half{i}", 800))) for i in range(2)]
        with pytest.raises(TransferError, match="not enough free space"):
            run_import(uris, f"tinydisk:{tmp_path / 'd'}", ImportOptions())
        assert srv.requests["data"] == 0
        # --dry-run plans and reports the figures instead of refusing
        report = run_import(uris, f"tinydisk:{tmp_path / 'd'}", ImportOptions(dry_run=True))
        assert report.files[0].error == "dry run: would be fetched"
        assert report.space == {"need": 1600, "free": 1000, "fits": False}
        # One declared size no disk here can hold fails its own row only (a hostile server).
        big = srv.uri(srv.add("big", payload("big", 100_000)))
        alone = run_import([big, uris[0]], f"tinydisk:{tmp_path / 'd'}", ImportOptions())
        assert [f.status.value for f in alone.files] == ["failed", "done"]


@pytest.mark.network
def test_two_imports_into_one_dest_do_not_run_together(tmp_path: Path) -> None:
    import fcntl
    import os

    from htan_cds.errors import UsageError

    dest = tmp_path / "d"
    (dest / ".htan-cds").mkdir(parents=True)
    fd = os.open(dest / ".htan-cds" / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a running import holds it
    with FaultServer() as srv:
        uri = srv.uri(srv.add("x", payload("x", 100)))
        try:
            with pytest.raises(UsageError, match="another import"):
                run_import([uri], dest, ImportOptions())
        finally:
            os.close(fd)
        assert run_import([uri], dest, ImportOptions()).ok
