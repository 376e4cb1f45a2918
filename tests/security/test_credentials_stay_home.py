"""Issue 11.1: a credential goes only to the host(s) it was issued for.

A legitimate DRS server (the fault server, on 127.0.0.1) and a hostile one (on 127.0.0.2, a
different host) are both named in one manifest, or the legitimate one redirects to the hostile
one. The hostile server records every header and body it receives; none may hold the bearer
token, a passport, the Gen3 API key or an access token obtained with it, or an AccessURL header.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from htan_cds.errors import UsageError
from htan_cds.transfer import FileStatus, ImportOptions, run_import
from tests.conftest import run_cli
from tests.security.hostile import Hostile
from tests.transfer.fault_server import (
    PASSPORT_ISSUER,
    FaultServer,
    gen3_api_key,
    passport,
    payload,
)

pytestmark = pytest.mark.network

TOKEN = "hcds_secret-token-of-the-user"


def _write_manifest(path: Path, uris: list[str]) -> Path:
    path.write_text("drs_uri,name\n" + "".join(f"{u},f{i}.bin\n" for i, u in enumerate(uris)))
    return path


def test_token_without_token_host_is_refused_for_two_hosts(tmp_path: Path) -> None:
    with FaultServer(require_token=TOKEN) as legit, Hostile() as evil:
        uri = legit.uri(legit.add("o", payload("o", 500)))
        manifest = _write_manifest(tmp_path / "m.csv", [uri, evil.uri()])
        result = run_cli("import", str(manifest), "--to", str(tmp_path / "d"), "--token", TOKEN)
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        assert len(lines) == 1 and "--token-host" in lines[0], result.stderr
        assert "Traceback" not in result.stderr
        assert evil.seen == [] and legit.requests == {}
        # Named explicitly, the token goes to its host only; the other host's row still runs.
        result = run_cli(
            "import",
            str(manifest),
            "--to",
            str(tmp_path / "d"),
            "--token",
            TOKEN,
            "--token-host",
            legit.authority,
            "--json",
        )
        report = json.loads(result.stdout)
        by_uri = {f["drs_uri"]: f["status"] for f in report["files"]}
        assert by_uri[uri] == "done", result.stdout
        assert evil.seen, "the hostile host was asked for its own object"
        assert evil.leaked(TOKEN) == []


def test_one_host_manifest_binds_the_token_to_it(tmp_path: Path) -> None:
    with FaultServer(require_token=TOKEN) as legit:
        uri = legit.uri(legit.add("o", payload("o", 500)))
        report = run_import([uri], tmp_path / "d", ImportOptions(token=TOKEN))
        assert report.ok, report.files[0].error
        with pytest.raises(UsageError, match="needs --token"):
            ImportOptions(token_hosts=("x",)).validate()


@pytest.mark.parametrize("what", ["api", "data"])
def test_redirects_to_another_host_carry_no_credential(tmp_path: Path, what: str) -> None:
    with Hostile() as evil, FaultServer(require_token=TOKEN) as legit:
        legit.redirect_to, legit.redirect_what = evil.url, what
        uri = legit.uri(legit.add("o", payload("o", 500)))
        run_import([uri], tmp_path / "d", ImportOptions(token=TOKEN, token_hosts=(legit.url,)))
        assert evil.seen, f"the {what} redirect was not followed at all"
        # Neither the bearer token nor the AccessURL's own header crossed over.
        assert evil.leaked(TOKEN, "secret-o") == []


def test_passports_go_only_where_authorizations_accept_their_issuer(tmp_path: Path) -> None:
    good, other = passport(), passport("https://elsewhere.test", sub="other")
    passports = tmp_path / "passports.txt"
    passports.write_text(f"{good}\n{other}\n")
    with (
        FaultServer(require_passport=good) as legit,
        Hostile() as silent,
        Hostile(accept_passports_from=["https://not-the-issuer.test"]) as wrong_issuer,
    ):
        uri = legit.uri(legit.add("p", payload("p", 800)))
        report = run_import(
            [uri, silent.uri(), wrong_issuer.uri()],
            tmp_path / "d",
            ImportOptions(passport_file=passports),
        )
        assert {f.drs_uri: f.status for f in report.files}[uri] is FileStatus.DONE
        assert silent.seen and wrong_issuer.seen
        assert silent.leaked(good, other) == [] and wrong_issuer.leaked(good, other) == []


def test_passport_host_pins_passports_even_against_a_lying_server(tmp_path: Path) -> None:
    good = passport()
    passports = tmp_path / "passports.txt"
    passports.write_text(good + "\n")
    # This server claims to take passports from the user's very issuer.
    with (
        FaultServer(require_passport=good) as legit,
        Hostile(accept_passports_from=[PASSPORT_ISSUER]) as liar,
    ):
        uri = legit.uri(legit.add("p", payload("p", 800)))
        opts = ImportOptions(passport_file=passports, passport_hosts=(legit.authority,))
        report = run_import([uri, liar.uri()], tmp_path / "d", opts)
        assert {f.drs_uri: f.status for f in report.files}[uri] is FileStatus.DONE
        assert liar.seen and liar.leaked(good) == []


def test_a_passport_post_is_not_replayed_to_another_host(tmp_path: Path) -> None:
    good = passport()
    passports = tmp_path / "passports.txt"
    passports.write_text(good + "\n")
    with Hostile() as evil, FaultServer(require_passport=good) as legit:
        legit.redirect_to, legit.redirect_what = evil.url, "api"
        uri = legit.uri(legit.add("p", payload("p", 800)))
        report = run_import([uri], tmp_path / "d", ImportOptions(passport_file=passports))
        assert report.files[0].status is FileStatus.FAILED
        assert "another host" in (report.files[0].error or "")
        assert evil.leaked(good) == []


def test_gen3_key_goes_only_to_its_issuer(tmp_path: Path) -> None:
    with FaultServer(require_token="never-this") as legit, Hostile() as evil:
        key = gen3_api_key(legit.url + "/user")
        creds = tmp_path / "credentials.json"
        creds.write_text(json.dumps({"api_key": key, "key_id": "k1"}))
        uri = legit.uri(legit.add("g", payload("g", 900)))
        report = run_import(
            [uri, evil.uri()], tmp_path / "d", ImportOptions(gen3_credentials=creds)
        )
        assert {f.drs_uri: f.status for f in report.files}[uri] is FileStatus.DONE
        assert legit.exchanges == 1
        assert evil.seen
        assert not [s for s in evil.seen if s.path.startswith("/user/")]
        assert [s for s in evil.seen if "authorization" in {k.lower() for k in s.headers}] == []
        assert evil.leaked(key) == []


def test_gen3_key_without_issuer_is_refused(tmp_path: Path) -> None:
    creds = tmp_path / "credentials.json"
    creds.write_text(json.dumps({"api_key": "not-a-jwt", "key_id": "k1"}))
    with pytest.raises(UsageError, match="names no issuer"):
        run_import(["drs://127.0.0.1:9/x"], tmp_path / "d", ImportOptions(gen3_credentials=creds))


def test_remote_image_reads_keep_headers_on_their_origin() -> None:
    """``htan-cds info/preview`` read ranges with the AccessURL's headers: a redirect to
    another host gets only ``Range``."""
    import time

    from htan_cds.errors import HtanCdsError
    from htan_cds.imaging.remote import HttpRangeFile

    with Hostile() as evil, FaultServer() as legit:
        legit.redirect_to, legit.redirect_what = evil.url, "data"
        legit.add("o", payload("o", 5000))
        url = f"{legit.url}/data/o?exp={int(time.time()) + 600}"
        headers = {"X-Fault-Token": "secret-o", "Authorization": f"Bearer {TOKEN}"}
        with contextlib.suppress(HtanCdsError):
            HttpRangeFile(url, headers=headers).close()
        assert evil.seen and evil.seen[0].headers.get("Range") == "bytes=0-0"
        assert evil.leaked("secret-o", TOKEN) == []
