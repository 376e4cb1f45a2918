"""A fresh user walks the README: the Quick start's demo (``--no-serve``), every command of "The
manual's path" as written — facets, find, manifest create, serve in the background, info,
import, import status — and the repair commands of the next block on a real CDS manifest, in a
temporary home directory (nothing from the real ~ is read), against a real server on loopback.
No output anywhere may hold a traceback. The only changes to the README's lines: a free port
(``--port P`` for demo and serve, so the catalog's DRS URIs name the server that answers), and
``htan-cds`` is a shim running this checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests._servers import free_port, stop_process
from tests.conftest import shared_path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _bash_blocks(section: str) -> list[list[str]]:
    """The commands of each ```bash block of a README section (comments dropped)."""
    text = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    blocks = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        lines = [re.sub(r"\s+#\s.*$", "", line).strip() for line in block.splitlines()]
        blocks.append([line for line in lines if line])
    return blocks


@pytest.fixture
def user(tmp_path: Path) -> dict[str, str]:
    """The environment of a user with an empty home and ``htan-cds`` on PATH."""
    home = tmp_path / "home"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    shim = bin_dir / "htan-cds"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m htan_cds.cli.main "$@"\n')
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTAN_CDS_", "XDG_"))}
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}")
    (home / "work").mkdir(parents=True)
    return env


def _run(line: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", "-c", line], env=env, cwd=cwd, capture_output=True, text=True, timeout=900
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, f"{line}\n{output[-4000:]}"
    assert result.returncode == 0, f"{line} exited {result.returncode}\n{output[-4000:]}"
    return result


# The demo build alone takes minutes on a busy 2-core machine.
@pytest.mark.timeout(1500)
def test_the_manuals_path_as_written(user: dict[str, str]) -> None:
    quick_start = _bash_blocks("Quick start")[0]
    assert quick_start[0].endswith("htan-cds demo")  # run below as the manual's first step
    manual, repair = _bash_blocks("The manual's path, on one laptop")
    assert manual[0] == "htan-cds demo --no-serve"
    port = free_port()
    work = Path(user["HOME"]) / "work"
    server: subprocess.Popen[str] | None = None
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    try:
        for line in manual:
            command = re.sub(r"^htan-cds (demo|serve)\b", rf"htan-cds \1 --port {port}", line)
            if command.endswith("&"):
                server = subprocess.Popen(
                    ["bash", "-c", command.rstrip("& ")],
                    env=user,
                    cwd=work,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
                _wait_for(f"http://127.0.0.1:{port}/ga4gh/drs/v1/service-info", server)
                continue
            outputs[line] = _run(command, user, work)
        assert server is not None, "the manual starts a server in the background"
    finally:
        if server is not None:
            stop_process(server)  # type: ignore[arg-type]
            log = server.stdout.read() if server.stdout else ""
            assert "Traceback" not in log, log[-3000:]

    # The data went where a user looks for it: the platform's data folder under ~.
    assert (Path(user["HOME"]) / ".local/share/htan-cds/catalog.duckdb").is_file()
    find = next(r for line, r in outputs.items() if "find" in line and "--json" in line)
    assert json.loads(find.stdout)["count"] > 0
    rows = (work / "cart.csv").read_text().splitlines()[1:]
    imported = [p for p in (work / "htan-data").iterdir() if p.is_file()]
    assert rows and len(imported) == len(rows)
    status = _run("htan-cds import status ./htan-data --json", user, work)
    assert json.loads(status.stdout)["by_status"]["verified"] == len(rows)
    info = next(r for line, r in outputs.items() if line.startswith("htan-cds info"))
    assert "channel" in (info.stdout + info.stderr).lower()

    # The next block repairs a real CDS manifest (its imports need CRDC and CGC accounts).
    manifest = shared_path("data", "manifests", "isb-cgc_cds_imaging_manifest_full_uri.csv")
    shutil.copyfile(manifest, work / "cds_manifest.csv")
    for line in repair:
        if line.startswith("htan-cds import"):
            continue
        result = subprocess.run(
            ["bash", "-c", line], env=user, cwd=work, capture_output=True, text=True
        )
        assert "Traceback" not in result.stdout + result.stderr, line
        assert result.returncode in (0, 1), (line, result.stderr)  # 1: findings, as documented
    assert (work / "cgc.csv").is_file() and (work / "report.json").is_file()


def _wait_for(url: str, process: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def _reference_commands() -> list[list[str]]:
    """The command words of every row of the README's command reference."""
    text = README.split("## Command reference", 1)[1].split("\n## Python API", 1)[0]
    found: list[list[str]] = []
    for row in re.findall(r"^\| `htan-cds ([^`]*)`", text, re.M):
        words = []
        for word in row.split():
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            words.append(word)
        if words and words not in found:
            found.append(words)
    return found


def test_every_command_of_the_reference_answers_help(user: dict[str, str]) -> None:
    commands = _reference_commands()
    assert len(commands) >= 15
    script = (
        "import sys\nfrom htan_cds.cli.main import main\n"
        "for words in __import__('json').loads(sys.argv[1]):\n"
        "    code = main([*words, '--help'])\n"
        "    print('EXIT', ' '.join(words), code, flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(commands)],
        env=user,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    exits = re.findall(r"^EXIT (.*) (\d+)$", result.stdout, re.M)
    assert [e[0] for e in exits] == [" ".join(w) for w in commands]
    assert all(code == "0" for _, code in exits), exits
