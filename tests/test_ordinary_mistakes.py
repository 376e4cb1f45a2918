"""Ordinary mistakes end in one line on stderr, no traceback, and the documented exit code
(README "Command reference": 1 an import failed files or could not run, 2 usage or unreadable
input, 130 interrupted; Ctrl-C is in tests/transfer/test_interrupt_status.py).

Full and read-only disks are real: a tiny tmpfs mounted in a private user+mount namespace
(``unshare -rm``, util-linux), so no root is needed and nothing outside the test sees it; the
test skips with the reason where the kernel does not allow unprivileged namespaces.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._servers import free_port
from tests.conftest import run_cli
from tests.transfer.fault_server import FaultServer, payload

pytestmark = pytest.mark.network

USAGE, FAILED = 2, 1


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The single non-empty stderr line of a run that ended with ``code``."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert result.returncode == code, (result.returncode, result.stderr)
    return lines[0]


@pytest.fixture(scope="module")
def srv() -> Iterator[FaultServer]:
    with FaultServer() as server:
        for i in range(3):
            server.add(f"f{i}", payload(f"f{i}", 256 * 1024))
        yield server


# ---- S3 destinations ------------------------------------------------------------------------


def _no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    # botocore would otherwise ask the EC2 metadata address for credentials: not loopback.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_s3_destination_without_credentials(
    srv: FaultServer, moto_s3: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_aws(monkeypatch, tmp_path)
    result = run_cli(
        "import", srv.uri("f0"), "--to", "s3://nocreds/x", "--s3-endpoint", moto_s3, "--quiet"
    )
    line = one_line(result, USAGE)
    assert "no AWS credentials for s3://nocreds" in line and "AWS_ACCESS_KEY_ID" in line
    assert srv.requests["data"] == 0


def test_s3_destination_with_a_wrong_endpoint(
    srv: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = run_cli("import", srv.uri("f0"), "--to", "s3://bucket-x/x", "--s3-endpoint", closed)
    line = one_line(result, USAGE)
    assert f"cannot reach the S3 endpoint {closed}" in line and "--s3-endpoint" in line


def test_s3_destination_bucket_missing(srv: FaultServer, moto_s3: str) -> None:
    result = run_cli(
        "import", srv.uri("f0"), "--to", "s3://no-such-bucket-x/p", "--s3-endpoint", moto_s3
    )
    assert "bucket no-such-bucket-x does not exist" in one_line(result, USAGE)


def test_serve_from_a_bucket_behind_a_wrong_endpoint(home: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = run_cli(
        "serve",
        "--port",
        str(free_port()),
        "--store",
        "s3://bucket-x/p",
        "--s3-endpoint",
        closed,
        home=home,
    )
    assert "cannot reach the S3 endpoint" in one_line(result, USAGE)


def test_serve_from_a_store_folder_that_is_not_there(home: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for store, text in (
        (tmp_path / "no-such-store", "does not exist"),
        (a_file, "is not a folder"),
    ):
        result = run_cli("serve", "--port", str(free_port()), "--store", str(store), home=home)
        line = one_line(result, USAGE)
        assert f"--store {store} {text}" in line


# ---- local destinations ---------------------------------------------------------------------


def test_destination_that_is_a_file_or_under_one(srv: FaultServer, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    line = one_line(run_cli("import", srv.uri("f0"), "--to", str(a_file)), USAGE)
    assert "is not a folder" in line
    line = one_line(run_cli("import", srv.uri("f0"), "--to", str(a_file / "sub")), USAGE)
    assert f"cannot create destination {a_file / 'sub'}" in line
    line = one_line(run_cli("import", "status", str(a_file / "sub")), USAGE)
    assert "Traceback" not in line


def _unshare() -> str:
    tool = shutil.which("unshare")
    if tool is None:
        pytest.skip("unshare (util-linux) is absent: no private tmpfs for disk tests")
    probe = subprocess.run([tool, "-rm", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"unprivileged user namespaces are not allowed here: {probe.stderr.strip()}")
    return tool


def _in_tmpfs(script: str, mount: Path, size: str, *args: str, ro: bool = False) -> str:
    """Run ``script`` (sh) with a fresh tmpfs of ``size`` at ``mount`` in a private namespace;
    $PY is this Python, "$@" the args. Returns the script's stdout."""
    tool = _unshare()
    mount.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if ro else "")
    full = f'mount -t tmpfs -o {options} tmpfs "$MNT" || exit 99\n{script}'
    env = dict(os.environ, PY=sys.executable, MNT=str(mount))
    done = subprocess.run(
        [tool, "-rm", "sh", "-c", full, "sh", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if done.returncode == 99:
        pytest.skip(f"cannot mount a tmpfs in a user namespace here: {done.stderr.strip()}")
    return done.stdout


_IMPORT = '"$PY" -m htan_cds.cli.main import "$@" 2>"$MNT.err"; echo "rc=$?"\n'


def _outcome(stdout: str, mount: Path) -> subprocess.CompletedProcess[str]:
    rc = int(next(x for x in stdout.splitlines() if x.startswith("rc="))[3:])
    err = Path(f"{mount}.err").read_text()
    return subprocess.CompletedProcess([], rc, "", err)


def test_destination_on_a_read_only_disk(srv: FaultServer, tmp_path: Path) -> None:
    mount = tmp_path / "ro"
    out = _in_tmpfs(_IMPORT, mount, "1m", srv.uri("f0"), "--to", str(mount / "d"), ro=True)
    line = one_line(_outcome(out, mount), USAGE)
    assert f"cannot create {mount / 'd'} in {mount}" in line


def test_disk_too_small_is_refused_before_a_byte(srv: FaultServer, tmp_path: Path) -> None:
    mount = tmp_path / "tiny"
    served = srv.bytes_served
    # 3 x 256 KiB into 512 KiB (less the ledger): each would fit, together they do not.
    uris = [srv.uri(f"f{i}") for i in range(3)]
    out = _in_tmpfs(_IMPORT, mount, "512k", *uris, "--to", str(mount / "d"))
    line = one_line(_outcome(out, mount), FAILED)
    assert "not enough free space" in line and "another --to" in line
    assert srv.bytes_served == served


def test_disk_filling_up_during_an_import(srv: FaultServer, tmp_path: Path) -> None:
    """The free-space check passes, then something else fills the disk: the import stops
    starting files, says so in one line (with --quiet), and keeps what arrived."""
    mount = tmp_path / "fills"
    srv.chunk_delay = 0.05
    try:
        script = (
            '"$PY" -m htan_cds.cli.main import "$@" 2>"$MNT.err" & pid=$!\n'
            'n=0; while [ -z "$(ls "$MNT/d" 2>/dev/null | grep -v htan)" ] && [ $n -lt 3000 ];'
            " do sleep 0.02; n=$((n+1)); done\n"
            'head -c 4000000 /dev/zero > "$MNT/filler" 2>/dev/null\n'
            'wait $pid; echo "rc=$?"\n'
            'ls "$MNT/d"\n'
        )
        uris = [srv.uri(f"f{i}") for i in range(3)]
        out = _in_tmpfs(
            script, mount, "1m", *uris, "--to", str(mount / "d"), "--quiet", "--concurrency", "1"
        )
    finally:
        srv.chunk_delay = 0.0
    line = one_line(_outcome(out, mount), FAILED)
    assert "disk full" in line or "no space left" in line, line
    assert "f0.bin" in out.splitlines()  # what arrived before the disk filled is kept


# ---- servers --------------------------------------------------------------------------------


def test_a_server_that_is_down(tmp_path: Path) -> None:
    down = free_port()
    uri = f"drs://127.0.0.1:{down}/dg.X/abc"
    line = one_line(run_cli("import", uri, "--to", str(tmp_path / "d"), "--quiet"), FAILED)
    assert f"host unreachable (127.0.0.1:{down})" in line
    line = one_line(run_cli("info", uri), USAGE)
    assert f"127.0.0.1:{down}" in line and "is the server running" in line


@pytest.mark.parametrize("command", [["serve"], ["workspace", "serve"], ["demo"]])
def test_port_already_in_use(command: list[str], home: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(*command, "--port", str(port), home=home, timeout=60)
    line = one_line(result, USAGE)
    assert f"port {port} on 127.0.0.1 is already in use" in line and "--port" in line
    assert not (home / "catalog.duckdb").exists()  # demo said so before building anything


# ---- everything else a user types -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["find"],  # no catalog yet
        ["facets", "--json"],
        ["sql", "select 1"],
        ["manifest", "create", "--format", "cgc", "-o", "x.csv"],
        ["find", "--limit", "-1"],
        ["serve", "--port", "70000"],
        ["import", "x.csv", "--to", "d", "--concurrency", "0"],
        ["import", "x.csv", "--to", "d", "--part-size", "lots"],
        ["import", "x.csv", "--to", "d", "--conflict", "maybe"],
        ["import", "missing.csv", "--to", "d"],
        ["manifest", "check", "missing.csv"],
        ["manifest", "check", "."],
        ["info", "missing.ome.tif"],
        ["token", "create"],
        ["token", "revoke", "nosuch"],
        ["catalog", "import", "missing-dir"],
        ["catalog", "build", "--from-files", "missing.csv"],
        ["ingest", "missing-dir"],
        ["nosuchcommand"],
        ["find", "--nosuchoption"],
    ],
)
def test_ordinary_mistakes_say_one_line(
    args: list[str], home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    one_line(run_cli(*args, home=home), USAGE)


def test_unreadable_manifests(tmp_path: Path, home: Path) -> None:
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(bytes(range(256)) * 10)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for path in (binary, empty, tmp_path):
        one_line(run_cli("import", str(path), "--to", str(tmp_path / "d"), home=home), USAGE)
        one_line(run_cli("manifest", "check", str(path), home=home), USAGE)


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["token", "create", "--grant"], "htan-cds token create"),  # click gives no context
        (["find", "--limit"], "htan-cds find"),  # click gives the root's context
        (["manifest", "convert", "x.csv", "--to"], "htan-cds manifest convert"),
        (["--debug", "catalog", "nosuch"], "htan-cds catalog"),
    ],
)
def test_a_usage_error_points_at_the_command_typed(
    args: list[str], command: str, home: Path
) -> None:
    line = one_line(run_cli(*args, home=home), USAGE)
    assert line.endswith(f"(see: {command} --help)"), line


def test_a_snapshot_folder_that_is_a_file(demo_home: Path, home: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "a-file.csv"
    a_file.write_text("name,drs_uri\n")
    line = one_line(run_cli("catalog", "export", str(a_file), home=demo_home), USAGE)
    assert f"{a_file} is a file, not a folder" in line
    line = one_line(run_cli("catalog", "export", str(a_file / "sub"), home=demo_home), USAGE)
    assert f"cannot create folder {a_file / 'sub'}" in line
    line = one_line(run_cli("catalog", "import", str(a_file), home=home), USAGE)
    assert f"{a_file} is a file, not a catalog snapshot" in line
    assert a_file.read_text() == "name,drs_uri\n"
