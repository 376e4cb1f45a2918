"""Throwaway virtualenvs for third-party tools whose dependencies clash with ours.

Each venv lives under ``~/.cache/htan-cds-tests/<name>`` and is reused when its marker file
says the same requirements were installed; building one is bounded in time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("HTAN_CDS_TEST_CACHE", Path.home() / ".cache" / "htan-cds-tests"))


def venv(name: str, requirements: list[str], *, extra_files: dict[str, str] | None = None) -> Path:
    """The python executable of a venv with ``requirements`` (built once, then reused)."""
    root = CACHE / name
    marker = root / ".htan-cds-ready"
    wanted = hashlib.sha256(
        repr((requirements, sorted((extra_files or {}).items()))).encode()
    ).hexdigest()
    python = root / "bin" / "python"
    if marker.exists() and marker.read_text() == wanted and python.exists():
        return python
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, timeout=120)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                *requirements,
            ],
            check=True,
            timeout=600,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(root, ignore_errors=True)
        err = getattr(exc, "stderr", b"") or b""
        pytest.skip(f"cannot build venv {name} (package index unreachable?): {err[-500:]!r}")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    for rel, text in (extra_files or {}).items():
        (Path(site) / rel).write_text(text)
    marker.write_text(wanted)
    return python
