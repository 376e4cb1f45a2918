"""Gen3 API-key exchange (against a loopback server implementing it), bearer tokens,
and compact-prefix lookups through an identifiers.org stand-in with the on-disk cache."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from htan_cds.drs.client import Credentials, DrsClient
from htan_cds.drs.gen3_auth import Gen3ApiKey, Gen3TokenSource
from htan_cds.drs.resolver_cache import CompactResolver, entry_from_url
from htan_cds.errors import AccessDenied, UsageError
from htan_cds.transfer import FileStatus, ImportOptions, run_import
from tests.transfer.fault_server import FaultServer, gen3_api_key, passport, payload

pytestmark = pytest.mark.network


def _creds(tmp_path: Path, srv: FaultServer, key: str = "good-key") -> Path:
    """A credentials.json whose API key was issued by ``srv`` (its ``iss``)."""
    path = tmp_path / "credentials.json"
    path.write_text(json.dumps({"api_key": gen3_api_key(srv.url + "/user", key), "key_id": "k1"}))
    return path


def test_gen3_credentials_file_is_exchanged_for_a_token(tmp_path: Path) -> None:
    with FaultServer(require_token="never-this") as srv:
        uri = srv.uri(srv.add("secret", payload("secret", 4000)))
        opts = ImportOptions(gen3_credentials=_creds(tmp_path, srv))
        report = run_import([uri], tmp_path / "d", opts)
        assert report.files[0].status is FileStatus.DONE, report.files[0].error
        assert srv.exchanges == 1
        # Without credentials the server refuses.
        denied = run_import([uri], tmp_path / "e", ImportOptions())
        assert denied.files[0].status is FileStatus.FAILED
        assert "401" in (denied.files[0].error or "")


def test_gen3_token_is_renewed_before_expiry(tmp_path: Path) -> None:
    with FaultServer(token_lifetime=100) as srv:
        source = Gen3TokenSource(Gen3ApiKey.load(_creds(tmp_path, srv)), srv.url, margin=10)

        async def run() -> tuple[str, str, str]:
            async with DrsClient(credentials=Credentials(gen3=source)) as client:
                first = await source.token(client.session, srv.url)
                again = await source.token(client.session, srv.url)
                # Within the renewal margin of its exp claim: the next call renews.
                source.margin = 200
                await asyncio.sleep(1.1)  # a later exp, so a different token
                renewed = await source.token(client.session, srv.url)
                return first, again, renewed

        first, again, renewed = asyncio.run(run())
        assert first == again  # cached while valid
        assert renewed != first
        assert srv.exchanges == 2


def test_bad_gen3_key_and_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        Gen3ApiKey.load(tmp_path / "absent.json")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(UsageError):
        Gen3ApiKey.load(tmp_path / "x.json")
    with FaultServer() as srv:
        source = Gen3TokenSource(Gen3ApiKey.load(_creds(tmp_path, srv, "wrong")))

        async def run() -> None:
            async with DrsClient() as client:
                await source.token(client.session, srv.url)

        with pytest.raises(AccessDenied):
            asyncio.run(run())


def test_bearer_token_is_sent(tmp_path: Path) -> None:
    with FaultServer(require_token="tok-123") as srv:
        uri = srv.uri(srv.add("o", payload("o", 100)))
        ok = run_import([uri], tmp_path / "d", ImportOptions(token="tok-123"))
        assert ok.ok


def test_passports_are_posted(tmp_path: Path) -> None:
    good = passport()
    with FaultServer(require_passport=good) as srv:
        uri = srv.uri(srv.add("p", payload("p", 3000)))
        passports = tmp_path / "passports.txt"
        # A passport from an issuer the server does not list stays home.
        passports.write_text(passport("https://elsewhere.test") + "\n" + good + "\n")
        report = run_import([uri], tmp_path / "d", ImportOptions(passport_file=passports))
        assert report.ok, report.files[0].error
        assert srv.requests["passport"] >= 2  # resolution and access both by POST
        plain = run_import([uri], tmp_path / "e", ImportOptions())
        assert not plain.ok


@pytest.fixture
def identifiers_standin() -> Iterator[tuple[str, dict[str, int], FaultServer]]:
    """A loopback stand-in for resolver.api.identifiers.org (no internet here)."""
    calls = {"n": 0}
    drs = FaultServer().start()

    async def resolve(request: web.Request) -> web.Response:
        calls["n"] += 1
        curie = request.match_info["curie"]
        prefix, _, accession = curie.partition(":")
        if prefix != "htantest":
            return web.json_response({"errorMessage": "unknown"}, status=404)
        url = f"{drs.url}/ga4gh/drs/v1/objects/{accession}"
        return web.json_response(
            {"payload": {"resolvedResources": [{"compactIdentifierResolvedUrl": url}]}}
        )

    app = web.Application()
    app.router.add_get("/{curie}", resolve)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    assert site._server is not None
    port = site._server.sockets[0].getsockname()[1]
    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", calls, drs
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        drs.stop()


def test_compact_ids_resolved_via_identifiers_and_cached(
    identifiers_standin: tuple[str, dict[str, int], FaultServer], tmp_path: Path
) -> None:
    base, calls, drs = identifiers_standin
    for i in range(3):
        drs.add(f"acc{i}", payload(f"acc{i}", 1000 + i))
    cache = tmp_path / "prefixes.json"
    opts = ImportOptions(identifiers_url=base, prefix_cache=cache)
    uris = [f"drs://htantest:acc{i}" for i in range(3)]
    report = run_import(uris, tmp_path / "d", opts)
    assert report.ok, [f.error for f in report.files]
    assert calls["n"] == 1  # one lookup per prefix, not per URI
    assert json.loads(cache.read_text())["htantest"]["id_template"] == "{accession}"
    # Fresh process state, same cache file: no lookup at all within 24 h.
    report = run_import(uris[:1], tmp_path / "e", opts)
    assert report.ok and calls["n"] == 1
    resolver = CompactResolver(cache_path=cache, ttl=0)
    assert resolver.cached("htantest") is None  # expired entries are ignored
    bad = run_import(["drs://nosuch:x1"], tmp_path / "f", opts)
    assert bad.files[0].status is FileStatus.FAILED
    assert "nosuch" in (bad.files[0].error or "")


def test_entry_from_url_keeps_crdc_style_ids() -> None:
    entry = entry_from_url(
        "dg.TEST", "abc", "https://drs.example.org/ga4gh/drs/v1/objects/dg.TEST/abc"
    )
    assert entry is not None
    assert entry.host == "drs.example.org" and entry.port is None
    assert entry.object_id("dg.TEST", "xyz") == "dg.TEST/xyz"
    assert entry_from_url("p", "a", "https://example.org/not-drs/a") is None


def test_crdc_shaped_s3_access_ids_with_gen3_key(tmp_path: Path) -> None:
    # What nci-crdc.datacommons.io answers: dg.XXXX/<guid> ids, "s3" access ids, signed https
    # URLs from /access, bearer tokens from the API key, no bulk endpoint advertised.
    with FaultServer(access_type="s3", bulk_limit=None, require_token="x") as srv:
        uris = [srv.uri(srv.add(f"dg.TEST/guid-{i}", payload(f"g{i}", 70_000))) for i in range(3)]
        opts = ImportOptions(gen3_credentials=_creds(tmp_path, srv), part_size=64 * 1024)
        report = run_import(uris, tmp_path / "d", opts)
        assert report.ok, [f.error for f in report.files]
        assert srv.requests["bulk"] == 0 and srv.requests["access"] == 3
        assert srv.exchanges == 1
    names = sorted(p.name for p in (tmp_path / "d").iterdir() if p.is_file())
    # The server names objects "dg.TEST/guid-N.bin": the slash cannot make a folder.
    assert names == ["dg.TEST_guid-0.bin", "dg.TEST_guid-1.bin", "dg.TEST_guid-2.bin"]
