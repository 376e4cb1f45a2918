"""The CLI frame: version, help, exit codes and one-line errors."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.startswith("htan-cds ")
    result = run_cli("--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_unknown_command_is_usage_error() -> None:
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_home_that_is_a_file_gives_one_clear_line(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    result = run_cli("--home", str(not_a_dir), "manifest", "check", str(not_a_dir))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
