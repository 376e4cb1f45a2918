"""Layout templates and name sanitising: nothing is ever written outside DEST."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.errors import UsageError
from htan_cds.transfer import FileStatus, ImportOptions, run_import
from htan_cds.transfer.destinations import LocalDestination, destination_scheme
from htan_cds.transfer.layout import Layout, template_fields
from htan_cds.transfer.options import parse_size
from htan_cds.transfer.source import SourceRow
from tests.transfer.fault_server import FaultServer, payload

NASTY = ["../../etc/passwd", "/abs/path", "..", ".", "a/../../b", "C:\\x", "", "\x00x", "\n"]


@given(
    name=st.one_of(st.sampled_from(NASTY), st.text(max_size=80)),
    center=st.one_of(st.sampled_from(NASTY), st.text(max_size=30)),
)
@settings(max_examples=300, deadline=None)
def test_rendered_paths_stay_inside(name: str, center: str) -> None:
    path = Layout("{center}/{participant}/{name}").render({"name": name, "HTAN_Center": center})
    pure = PurePosixPath(path)
    assert not pure.is_absolute()
    assert ".." not in pure.parts and "." not in pure.parts
    assert len(pure.parts) == 3
    assert all(p.strip() and "\x00" not in p for p in pure.parts)
    assert pure.parts[0] != ".htan-cds"


def test_aliases_and_missing_fields() -> None:
    layout = Layout("{center}/{participant}/{name}")
    row = {"HTAN_Center": "HTAN HTAPP", "HTAN_Participant_ID": "HTA1_1", "name": "a.ome.tif"}
    assert layout.render(row) == "HTAN HTAPP/HTA1_1/a.ome.tif"
    assert layout.render({"name": "x"}) == "unknown/unknown/x"
    derived = {"atlas_name": "HTAN Vanderbilt", "biospecimen": "HTA11_1_1", "name": "c.csv"}
    assert layout.render(derived) == "HTAN Vanderbilt/HTA11_1/c.csv"
    assert (
        Layout("{.htan-cds}/{name}")
        .render({".htan-cds": ".htan-cds", "name": "n"})
        .startswith("_htan-cds/")
    )


@pytest.mark.parametrize("bad", ["{name!r}", "{name:>5}", "{", "{a[0]}"])
def test_bad_templates(bad: str) -> None:
    with pytest.raises(UsageError):
        template_fields(bad)


def test_sizes_and_schemes() -> None:
    assert parse_size("64MiB") == 64 << 20
    assert parse_size("8M") == 8 << 20
    assert parse_size("1.5G") == int(1.5 * (1 << 30))
    assert parse_size("65536") == 65536
    with pytest.raises(UsageError):
        parse_size("lots")
    assert destination_scheme("s3://b/p") == "s3"
    assert destination_scheme("/tmp/x") == "local"
    assert destination_scheme("file:///tmp/x") == "local"
    assert destination_scheme("cgc:proj") == "cgc"


def test_symlinked_folder_cannot_lead_outside(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    outside = tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "evil").symlink_to(outside)
    with pytest.raises(UsageError):
        LocalDestination(dest).existing("evil/file.bin")


@pytest.mark.network
def test_hostile_manifest_names_land_inside_dest(tmp_path: Path) -> None:
    rows = []
    with FaultServer() as srv:
        for i, name in enumerate(["../../escape.txt", "/etc/passwd", "..", "same", "same"]):
            srv.add(f"n{i}", payload(f"n{i}", 100 + i))
            rows.append(SourceRow(srv.uri(f"n{i}"), name, {"HTAN_Center": "../up"}, i + 1))
        dest = tmp_path / "dest"
        report = run_import(
            rows, dest, ImportOptions(layout="{center}/{name}", part_size=64 * 1024)
        )
    assert report.ok, [f.error for f in report.files]
    written = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    written = [p for p in written if not p.startswith(".htan-cds/")]
    assert len(written) == 5
    assert all(p.startswith("up/") for p in written), written
    assert not (tmp_path / "escape.txt").exists()
    assert len({f.path for f in report.files}) == 5  # duplicate names were numbered
    assert {f.status for f in report.files} == {FileStatus.DONE}
