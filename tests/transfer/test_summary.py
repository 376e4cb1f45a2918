"""The end of an import: failures grouped by cause with a hint and at most three examples,
conflicts said out loud (and in the exit code), per-file lines only when asked for."""

from __future__ import annotations

import errno
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from htan_cds.drs.uri import parse_drs_uri
from htan_cds.errors import AccessDenied, ChecksumMismatch, DrsError, InvalidDrsUri, TransferError
from htan_cds.transfer.causes import Cause, causes, classify, classify_text, register_cause
from htan_cds.transfer.report import EXIT_CONFLICTS
from tests._servers import free_port
from tests.conftest import run_cli
from tests.transfer.fault_server import FaultServer, payload

pytestmark = pytest.mark.network


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FaultServer, FaultServer]]:
    """An open DRS server and one that wants a bearer token (401 without it)."""
    with FaultServer() as open_srv, FaultServer(require_token="sekrit") as locked:
        for i in range(5):
            open_srv.add(f"o{i}", payload(f"o{i}", 3000 + i))
        for i in range(4):
            locked.add(f"l{i}", payload(f"l{i}", 2000 + i))
        open_srv.add("bad", payload("bad", 4000))
        yield open_srv, locked


def _manifest(path: Path, uris: list[str]) -> Path:
    rows = [f"{u},{u.rsplit('/', 1)[1]}.bin" for u in uris]
    path.write_text("drs_uri,name\n" + "\n".join(rows) + "\n")
    return path


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_failures_grouped_by_cause(
    servers: tuple[FaultServer, FaultServer], tmp_path: Path
) -> None:
    open_srv, locked = servers
    dead = free_port()  # nothing listens there: a server that is down
    open_srv.faults["bad"] = ["corrupt"] * 3  # three wrong bodies: a checksum failure
    uris = [
        *(open_srv.uri(f"o{i}") for i in range(5)),
        *(locked.uri(f"l{i}") for i in range(4)),
        open_srv.uri("missing"),
        f"drs://127.0.0.1:{dead}/x1",
        f"drs://127.0.0.1:{dead}/x2",
        open_srv.uri("bad"),
    ]
    manifest = _manifest(tmp_path / "m.csv", uris)
    report_file = tmp_path / "report.json"
    dest = tmp_path / "dest"
    result = run_cli("import", str(manifest), "--to", str(dest), "--json-report", str(report_file))
    assert result.returncode == 1, result.stderr
    err = result.stderr
    assert "Traceback" not in err
    assert "5 done (5 verified, 0 unverified)" in err
    assert "4 failed: needs a token — " in err
    assert "--token, --passport or --gen3-credentials" in err
    assert f"2 failed: host unreachable (127.0.0.1:{dead})" in err
    assert "is the server running" in err
    assert "1 failed: not on that server" in err
    assert "1 failed: checksum mismatch" in err
    # At most three examples per cause, then a count: row 9 (the fourth 401) is not listed.
    assert "… and 1 more" in err
    assert f"row 9 {locked.uri('l3')}" not in err
    assert "--verbose" in err

    verbose = run_cli("import", str(manifest), "--to", str(dest), "--verbose")
    assert f"failed [auth] row 9 {locked.uri('l3')}" in verbose.stderr
    assert f"failed [unreachable] row 12 drs://127.0.0.1:{dead}/x2" in verbose.stderr

    quiet = run_cli("import", str(manifest), "--to", str(dest), "--quiet")
    assert quiet.returncode == 1
    (line,) = _lines(quiet.stderr)
    # The corrupt bodies were used up by the first runs: "bad" arrived by now.
    assert "7 of 13 files failed" in line, line
    assert "4 needs a token" in line and f"host unreachable (127.0.0.1:{dead})" in line

    report = json.loads(report_file.read_text())
    by_uri = {f["drs_uri"]: f for f in report["files"]}
    assert by_uri[locked.uri("l0")]["cause"] == "auth"
    assert by_uri[open_srv.uri("missing")]["cause"] == "not_found"
    assert by_uri[f"drs://127.0.0.1:{dead}/x1"]["cause"] == "unreachable"
    assert by_uri[open_srv.uri("bad")]["cause"] == "checksum"
    assert by_uri[open_srv.uri("o0")]["cause"] is None
    groups = {g["cause"]: g for g in report["summary"]["failures"]}
    assert groups["auth"]["count"] == 4 and len(groups["auth"]["examples"]) == 3
    assert groups["unreachable"]["hosts"] == [f"127.0.0.1:{dead}"]
    assert all(g["hint"] for g in groups.values())
    assert sum(g["count"] for g in groups.values()) == report["summary"]["failed"] == 8


def test_conflicts_said_out_loud_and_in_the_exit_code(
    servers: tuple[FaultServer, FaultServer], tmp_path: Path
) -> None:
    open_srv, _ = servers
    dest = tmp_path / "dest"
    dest.mkdir()
    for name in ("o0", "o1", "o2"):
        (dest / f"{name}.bin").write_bytes(b"someone else's file")
    uris = [open_srv.uri(f"o{i}") for i in range(5)]
    result = run_cli("import", *uris, "--to", str(dest))
    assert result.returncode == EXIT_CONFLICTS == 3, result.stderr
    assert "3 conflicts: a different file is already there — --conflict rename|overwrite" in (
        result.stderr
    )
    assert (dest / "o0.bin").read_bytes() == b"someone else's file"
    quiet = run_cli("import", *uris, "--to", str(dest), "--quiet")
    assert quiet.returncode == 3
    (line,) = _lines(quiet.stderr)
    assert "3 conflicts" in line and "--conflict rename|overwrite" in line
    as_json = run_cli("import", *uris, "--to", str(dest), "--json")
    assert as_json.returncode == 3
    assert json.loads(as_json.stdout)["summary"]["conflicts"] == 3
    renamed = run_cli("import", *uris, "--to", str(dest), "--conflict", "rename", "--quiet")
    assert renamed.returncode == 0 and renamed.stderr.strip() == "", renamed.stderr
    assert (dest / "o0_2.bin").read_bytes() == open_srv.objects["o0"]


def test_quiet_says_nothing_when_all_is_well(
    servers: tuple[FaultServer, FaultServer], tmp_path: Path
) -> None:
    open_srv, _ = servers
    result = run_cli("import", open_srv.uri("o3"), "--to", str(tmp_path / "d"), "--quiet")
    assert result.returncode == 0 and result.stderr == "" and result.stdout == ""


def _raised_from(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as caught:
        return caught


def test_classification_from_exceptions_and_messages() -> None:
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
    dns = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert classify(AccessDenied("x", status_code=403)) == "auth"
    assert classify(DrsError("resolving: HTTP 404", status_code=404)) == "not_found"
    assert classify(DrsError("gone", status_code=503)) == "server_error"
    assert classify(ChecksumMismatch("checksum mismatch after 3 tries")) == "checksum"
    assert classify(_raised_from(DrsError("GET failed"), refused)) == "unreachable"
    assert classify(_raised_from(DrsError("GET failed"), dns)) == "unreachable"
    assert classify(OSError(errno.ENOSPC, "No space left on device")) == "disk_full"
    assert classify(PermissionError(errno.EACCES, "Permission denied")) == "destination"
    assert classify(TransferError("gave up after 6 tries: HTTP 502")) == "server_error"
    assert classify(ValueError("something new")) == "other"
    # Every way a URI can be unusable is one cause, whatever its message says.
    # (by its text too: `import status` knows a failure only by the ledger's message).
    bad_uris = (
        *("", "drs://h.org/a b", "drs://h.org", "drs://h.org:99999/x", "dg.4DFC/", "drs://"),
        *("drs://-bad-/x", "drs://h.org/a/../b", "drs://h.org/a%01b", "x:y", "http://h/x"),
        *("drs://h.org:8443/x", "dg.4DFC/a/b"),
    )
    for bad in bad_uris:
        with pytest.raises(InvalidDrsUri) as raised:
            parse_drs_uri(bad)
        wrapped = _raised_from(DrsError(str(raised.value)), raised.value)
        assert classify(wrapped) == "bad_uri", (bad, str(raised.value))
        assert classify_text(str(raised.value)) == "bad_uri", (bad, str(raised.value))
    assert classify_text("a different file is already there (use …)") == "conflict"
    assert classify_text("duplicate of row 3") == "duplicate"
    assert classify_text(None) == "other"
    # Conflicts, duplicates and dry runs are never what an exception means.
    assert classify(TransferError("a different file is already there")) == "other"


def test_the_registry_takes_new_causes_ahead_of_other() -> None:
    import re

    before = causes()
    try:
        register_cause(
            Cause("quota", "over quota", "ask for more", pattern=re.compile("quota exceeded"))
        )
        assert classify(DrsError("project quota exceeded")) == "quota"
        assert [c.code for c in causes()][-2:] == ["quota", "other"]
    finally:
        import htan_cds.transfer.causes as module

        module._CAUSES = before


def test_unusable_uris_are_one_cause_in_the_summary(tmp_path: Path) -> None:
    """Bad URIs never reach a server; each is summed up as 'not a usable DRS URI'."""
    manifest = tmp_path / "m.csv"
    manifest.write_text("name,drs_uri\na.tif,\nb.tif,drs://h.org/a b\nc.tif,drs://h.org\n")
    result = run_cli("import", str(manifest), "--to", str(tmp_path / "d"))
    assert result.returncode == 1, result.stderr
    assert "3 failed: not a usable DRS URI" in result.stderr, result.stderr
