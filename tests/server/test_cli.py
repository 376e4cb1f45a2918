"""``htan-cds token create|list|revoke`` and ``htan-cds serve`` argument checks."""

from __future__ import annotations

import json
from pathlib import Path

from htan_cds.config import DataHome
from htan_cds.server.tokens import TokenStore
from tests.conftest import run_cli


def test_token_lifecycle(home: Path) -> None:
    made = run_cli("token", "create", "--grant", "phs002371", "--grant", "phs000999.c1", home=home)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("hcds_") and "\n" not in token
    store = TokenStore(DataHome.open(home))
    info = store.verify(token)
    assert info is not None and info.grants == ("phs002371", "phs000999.c1")

    listed = run_cli("token", "list", "--json", home=home)
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == [info.id] and rows[0]["active"] is True
    assert token not in listed.stdout

    as_json = run_cli("token", "create", "--grant", "phs1", "--label", "x", "--json", home=home)
    data = json.loads(as_json.stdout)
    assert data["token"].startswith("hcds_") and data["grants"] == ["phs1"]

    revoked = run_cli("token", "revoke", info.id, "--json", home=home)
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["active"] is False
    assert store.verify(token) is None


def test_token_errors_are_one_line(home: Path) -> None:
    r = run_cli("token", "revoke", "nope", home=home)
    assert r.returncode == 2 and "no token with id" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("token", "create", "--grant", " ", home=home)
    assert r.returncode == 2 and "at least one --grant" in r.stderr


def test_serve_rejects_bad_options(home: Path) -> None:
    for args, text in (
        (("--drs-compat", "1.1"), "supports only 1.2"),
        (("--public-url", "ftp://x"), "must start with http"),
        (("--store", "gs://bucket"), "folder or s3://"),
        (("--ssl-certfile", "x.pem"), "go together"),
    ):
        r = run_cli("serve", "--port", "1", *args, home=home, timeout=30)
        assert r.returncode == 2, (args, r.stderr)
        assert text in r.stderr and "Traceback" not in r.stderr
