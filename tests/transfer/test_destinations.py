"""The destination registry: schemes, lazy providers (cgc:), and the handoff seam."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from htan_cds.errors import UsageError
from htan_cds.transfer import (
    FileResult,
    FileStatus,
    ImportOptions,
    ImportReport,
    open_destination,
    register_destination,
    run_import,
)
from htan_cds.transfer.destinations import Destination, LocalDestination, S3Destination


class _Handoff:
    """A destination that imports by itself (as CGC does), recording what it was given."""

    scheme = "handofftest"

    def __init__(self, url: str) -> None:
        self.url = url
        self.rows: list[Any] = []

    def handoff(self, rows: Sequence[Any], progress: Any = None) -> ImportReport:
        self.rows = list(rows)
        files = [FileResult(r.drs_uri, None, None, None, FileStatus.DONE) for r in rows]
        return ImportReport(destination=self.url, files=files)

    def state_dir(self) -> Path:
        return Path("/nonexistent")

    def display(self, rel: str) -> str:
        return rel

    def existing(self, rel: str) -> None:
        return None

    def digest(self, rel: str, algorithm: str) -> None:
        return None

    def commit(self, staged: Path, rel: str, digests: dict[str, str]) -> None:
        raise AssertionError("never called")

    def free_space(self) -> None:
        return None


def test_handoff_destinations_get_the_rows() -> None:
    made: list[_Handoff] = []

    def factory(dest: str, _opts: ImportOptions) -> Destination:
        made.append(_Handoff(dest))
        return made[-1]

    register_destination("handofftest", factory)
    report = run_import(["drs://example.org/a", "drs://example.org/b"], "handofftest:x")
    assert report.ok and len(report.files) == 2
    assert [r.drs_uri for r in made[0].rows] == ["drs://example.org/a", "drs://example.org/b"]


def test_registry_schemes(tmp_path: Path) -> None:
    assert isinstance(open_destination(str(tmp_path)), LocalDestination)
    assert isinstance(open_destination("s3://bucket/p"), S3Destination)
    with pytest.raises(UsageError, match="no destination type"):
        open_destination("gopher://x")
    with pytest.raises(UsageError):
        open_destination("s3://")


def test_cgc_scheme_is_provided_lazily() -> None:
    pytest.importorskip("htan_cds.workspace.cgc_destination")
    dest = open_destination("cgc:owner/project")
    assert dest.scheme == "cgc"
