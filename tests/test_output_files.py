"""Output files a user names (``-o``, ``--report``, ``--json-report``): a path that cannot be
written is refused in one line with exit 2 *before* any work (README "Command reference": a
user's mistake prints one line; 2 usage errors), and what is written appears whole or not at all.

Every command that writes a named file is listed in ``_WRITERS``; each is tried with each kind
of unwritable path in ``_BAD``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests._servers import free_port
from tests.conftest import run_cli, shared_path
from tests.test_ordinary_mistakes import USAGE, _in_tmpfs, _outcome, one_line

_MANIFEST = "name,drs_uri\na.tif,drs://127.0.0.1:{port}/dg.HCDS/abc\n"


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "in.csv"
    path.write_text(_MANIFEST.format(port=free_port()))
    return path


def _create(tmp_path: Path, out: str) -> list[str]:
    return ["manifest", "create", "--format", "cgc", "-o", out]


def _convert(tmp_path: Path, out: str) -> list[str]:
    return ["manifest", "convert", str(_manifest(tmp_path)), "--to", "gen3", "-o", out]


def _report(tmp_path: Path, out: str) -> list[str]:
    # The -o is fine: the report's path alone is wrong, and the output must not appear either.
    target = str(tmp_path / "ok.json")
    args = ["manifest", "convert", str(_manifest(tmp_path)), "--to", "gen3", "-o", target]
    return [*args, "--report", out]


def _import_report(tmp_path: Path, out: str) -> list[str]:
    # Nothing listens on the URI's port: without the early check the import runs, fails its
    # file and exits 1 with a summary of several lines.
    return ["import", str(_manifest(tmp_path)), "--to", str(tmp_path / "d"), "--json-report", out]


def _preview(tmp_path: Path, out: str) -> list[str]:
    return ["preview", str(shared_path("data", "images", "64x64.ome.tif")), "-o", out]


_WRITERS: dict[str, tuple[Callable[[Path, str], list[str]], str]] = {
    "manifest create -o": (_create, "-o"),
    "manifest convert -o": (_convert, "-o"),
    "manifest convert --report": (_report, "--report"),
    "import --json-report": (_import_report, "--json-report"),
    "preview -o": (_preview, "-o"),
}


def _missing_folder(tmp_path: Path) -> tuple[str, str]:
    return str(tmp_path / "nodir" / "out"), "does not exist"


def _a_folder(tmp_path: Path) -> tuple[str, str]:
    return str(tmp_path), "is a folder"


def _under_a_file(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "a-file").write_text("x")
    return str(tmp_path / "a-file" / "out"), "is a file, not a folder"


_BAD = {"missing folder": _missing_folder, "a folder": _a_folder, "under a file": _under_a_file}


@pytest.mark.parametrize("bad", sorted(_BAD))
@pytest.mark.parametrize("writer", sorted(_WRITERS))
def test_an_unwritable_output_is_refused_first(
    writer: str, bad: str, demo_home: Path, tmp_path: Path
) -> None:
    make_args, option = _WRITERS[writer]
    out, words = _BAD[bad](tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    args = make_args(tmp_path, out)
    line = one_line(run_cli(*args, home=demo_home), USAGE)
    assert f"{option} {out}" in line and words in line, line
    made = {p.name for p in tmp_path.iterdir()} - {"in.csv", *before}
    assert not made, made  # nothing was written, not even the import's folder
    if bad == "missing folder":
        assert "mkdir -p" in line


def test_an_output_on_a_read_only_disk(tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    source = _manifest(tmp_path)
    script = '"$PY" -m htan_cds.cli.main manifest convert "$@" 2>"$MNT.err"; echo "rc=$?"\n'
    target = mount / "out.json"
    out = _in_tmpfs(script, mount, "1m", str(source), "--to", "gen3", "-o", str(target), ro=True)
    line = one_line(_outcome(out, mount), USAGE)
    assert f"-o {target}: cannot write in folder {mount}" in line


def test_preview_and_report_are_written_whole(tmp_path: Path) -> None:
    png = tmp_path / "p.png"
    image = shared_path("data", "images", "64x64.ome.tif")
    assert run_cli("preview", str(image), "-o", str(png)).returncode == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    report = tmp_path / "r.json"
    args = _report(tmp_path, str(report))
    assert run_cli(*args).returncode == 0
    assert report.read_text().rstrip().endswith("}")
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left beside them


def test_an_output_that_is_an_input_is_refused(tmp_path: Path) -> None:
    """Writing a report over the manifest being read (or the output just written) loses it."""
    manifest = _manifest(tmp_path)
    before = manifest.read_text()
    image = shared_path("data", "images", "64x64.ome.tif")
    copy = tmp_path / "image.ome.tif"
    copy.write_bytes(image.read_bytes())
    out = str(tmp_path / "out.json")
    cases = [
        (
            ["import", str(manifest), "--to", str(tmp_path / "d"), "--json-report", str(manifest)],
            f"--json-report {manifest} is also the manifest",
        ),
        (
            ["manifest", "convert", str(manifest), "--to", "gen3", "-o", out, "--report", out],
            f"--report {out} is also -o",
        ),
        (
            [
                "manifest",
                "convert",
                str(manifest),
                "--to",
                "gen3",
                "-o",
                "x",
                "--report",
                str(manifest),
            ],
            f"--report {manifest} is also the manifest",
        ),
        (["preview", str(copy), "-o", str(copy)], f"-o {copy} is also the image"),
    ]
    for args, words in cases:
        line = one_line(run_cli(*args), USAGE)
        assert words in line, line
    assert manifest.read_text() == before
    assert copy.read_bytes() == image.read_bytes()
    assert not (tmp_path / "d").exists() and not Path(out).exists()


def test_convert_in_place_is_allowed(tmp_path: Path) -> None:
    """-o the input itself is a deliberate in-place rewrite: read whole before the rename."""
    manifest = _manifest(tmp_path)
    result = run_cli("manifest", "convert", str(manifest), "--to", "cgc", "-o", str(manifest))
    assert result.returncode == 0, result.stderr
    assert manifest.read_text().splitlines()[1].startswith("a.tif,drs://")
