"""Item 8, server side: controlled bytes readable by their owner only, URLs never built from the
``Host`` header, and credential cookies ``Secure`` whenever the commons is reached over https.

Before the fix every object file was 0444 in 0755 folders (any local user could read
controlled bytes), the workspace built download and DRS URLs from ``Host`` (a client choosing
``Host: evil.example`` got links to evil.example), and cookies never had ``Secure``.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from htan_cds.config import DataHome
from htan_cds.server.tokens import TokenStore
from htan_cds.workspace.store import WorkspaceStore
from tests._servers import ServerProcess, start_server
from tests.conftest import run_cli
from tests.security.conftest import Commons, catalog_rows, copy_home

NOBODY = 65534


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _readable_by_another_user(path: Path) -> bool:
    """Try to read ``path`` in a forked child running as uid/gid 65534 (root can switch)."""
    pid = os.fork()
    if pid == 0:  # the child: become another user, try, report by exit code
        code = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            with open(path, "rb") as fh:
                fh.read(1)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def test_controlled_objects_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    secret, public = tmp_path / "secret", tmp_path / "public"
    secret.mkdir()
    public.mkdir()
    (secret / "patient.fastq").write_bytes(b"ACGT controlled reads" * 100)
    (public / "open.txt").write_bytes(b"open data for everyone")
    (public / "was-open.txt").write_bytes(b"these bytes become controlled later")
    assert run_cli("--home", str(home), "ingest", str(public)).returncode == 0
    first = run_cli("--home", str(home), "ingest", str(secret), "--access", "controlled:phs1")
    assert first.returncode == 0, first.stderr
    (secret / "again.txt").write_bytes((public / "was-open.txt").read_bytes())
    again = run_cli("--home", str(home), "ingest", str(secret), "--access", "controlled:phs1")
    assert again.returncode == 0, again.stderr
    TokenStore(DataHome.open(home)).create(["phs1"])
    DataHome.open(home).secret_key()  # made by the server at its first start

    rows = {r["name"]: r for r in catalog_rows(home, "TRUE")}
    objects = home / "objects"

    def obj(name: str) -> Path:
        key = str(rows[name]["object_key"])
        return objects / key[:2] / key[2:4] / key

    for name in ("patient.fastq", "again.txt"):
        assert _mode(obj(name)) == 0o600, name
        assert _mode(obj(name).parent) == 0o700 and _mode(obj(name).parent.parent) == 0o700
    assert _mode(obj("open.txt")) & 0o444 == 0o444
    assert _mode(home) == 0o700
    for secret_file in ("secret.key", "tokens.json", "catalog.duckdb"):
        assert _mode(home / secret_file) & 0o077 == 0, secret_file
    if os.geteuid() == 0:  # replay the attack: another local user reads the bytes
        # Even with every folder above opened up (the owner's choice), controlled bytes stay
        # closed while open ones can be read (the positive control of the probe).
        for folder in (tmp_path, *tmp_path.parents):
            if folder.stat().st_mode & 0o005 != 0o005:
                os.chmod(folder, folder.stat().st_mode | 0o005)
        os.chmod(home, 0o755)
        os.chmod(objects, 0o755)
        assert _readable_by_another_user(obj("open.txt"))
        assert not _readable_by_another_user(obj("patient.fastq"))
        assert not _readable_by_another_user(obj("again.txt"))


def test_workspace_objects_are_private(tmp_path: Path) -> None:
    store = WorkspaceStore(tmp_path / "ws")
    stored = store.objects.put_stream(io.BytesIO(b"imported, maybe controlled"))
    path = store.objects.path_for(stored.key)
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert _mode(tmp_path / "ws") == 0o700 and _mode(tmp_path / "ws" / "objects") == 0o700


@pytest.fixture(scope="module")
def hosted(secure_commons: Commons, secure_server: ServerProcess) -> tuple[str, str]:
    """A workspace file owned by ``alice`` in the served home, and alice's token."""
    home = DataHome.open(secure_commons.home)
    token = TokenStore(home).create(["phs002371"], label="alice")
    store = WorkspaceStore.open(home)
    project = store.create_project("alice", "Host test")
    stored = store.objects.put_stream(io.BytesIO(b"bytes of an imported file"))
    record = store.add_file(
        project.id, "imported.bin", stored, metadata={}, tags=[], source_drs_uri=None
    )
    store.close()
    return record.id, token


def test_urls_ignore_the_host_header(secure_server: ServerProcess, hosted: tuple[str, str]) -> None:
    file_id, token = hosted
    evil = {"host": "evil.example:666", "x-sbg-auth-token": token}
    base = secure_server.url
    authority = base.split("://", 1)[1]
    info = httpx.get(f"{base}/v2/files/{file_id}/download_info", headers=evil).json()
    assert info["url"].startswith(base + "/workspace/content/"), info
    assert httpx.get(info["url"]).content == b"bytes of an imported file"
    obj = httpx.get(f"{base}/ga4gh/drs/v1/objects/hcds-ws/{file_id}", headers=evil).json()
    assert obj["self_uri"] == f"drs://{authority}/hcds-ws/{file_id}"
    access = httpx.get(f"{base}/ga4gh/drs/v1/objects/hcds-ws/{file_id}/access/https", headers=evil)
    assert access.json()["url"].startswith(base + "/"), access.text
    listing = httpx.get(f"{base}/v2/files/{file_id}", headers=evil).json()
    assert "evil.example" not in str(listing)
    cart = httpx.post(
        f"{base}/api/cart/cli",
        json={"cart": {"filters": [{"assay": ["t-CyCIF"]}]}},
        headers={"host": "evil.example:666"},
    ).json()
    assert cart["manifest_url"].startswith(base + "/api/carts/")
    drs_open = httpx.get(f"{base}/api/files?limit=1", headers={"host": "evil.example"}).json()
    open_id = drs_open["items"][0]["drs_id"]
    signed = httpx.get(
        f"{base}/ga4gh/drs/v1/objects/{open_id}/access/https", headers={"host": "evil.example"}
    ).json()
    assert signed["url"].startswith(base + "/bytes/")


def _set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


@pytest.fixture(scope="module")
def behind_tls_proxy(
    demo_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A commons whose public URL is https (a TLS proxy in front); tests talk to it directly."""
    home = copy_home(demo_home, tmp_path_factory.mktemp("tls-proxy") / "home")
    with start_server(home, "--workspace", "--public-url", "https://commons.example") as server:
        yield server


def test_cookies_are_secure_behind_a_tls_proxy(behind_tls_proxy: ServerProcess) -> None:
    token = TokenStore(DataHome.open(behind_tls_proxy.home)).create(["phs002371"], label="bob")
    base = behind_tls_proxy.url
    session = httpx.post(f"{base}/session", data={"token": token, "next": "/"})
    assert session.status_code == 303
    (cookie,) = _set_cookies(session)
    assert "Secure" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    signin = httpx.get(
        f"{base}/import-redirect/drs/csv",
        params={"URL": "https://commons.example/manifest.csv"},
        headers={"accept": "text/html"},
    )
    cookies = _set_cookies(signin)
    assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies), cookies


def test_cookies_follow_a_trusted_forwarded_proto(secure_server: ServerProcess) -> None:
    """uvicorn trusts X-Forwarded-Proto from loopback (--forwarded-allow-ips default)."""
    token = TokenStore(DataHome.open(secure_server.home)).create(["phs002371"], label="carol")
    plain = httpx.post(f"{secure_server.url}/session", data={"token": token})
    assert "Secure" not in _set_cookies(plain)[0]  # plain http on loopback: a dev setup
    proxied = httpx.post(
        f"{secure_server.url}/session",
        data={"token": token},
        headers={"x-forwarded-proto": "https"},
    )
    assert "Secure" in _set_cookies(proxied)[0]
