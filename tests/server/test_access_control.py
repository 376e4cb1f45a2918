"""Controlled objects: bearer tokens and GA4GH passports; no grant, every path closed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from htan_cds.server import ServerConfig, create_app
from htan_cds.server.access import Caller, decide, grant_covers
from htan_cds.server.passports import grant_from_visa_value
from htan_cds.server.tokens import TokenStore
from tests.server._catalog import SampleCommons, build_commons

API = "/ga4gh/drs/v1"
ISSUER = "https://broker.example.org"
ROGUE = "https://rogue.example.org"


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {"trusted": _rsa(), "rogue": _rsa()}


@pytest.fixture(scope="module")
def pcommons(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Any]) -> SampleCommons:
    """A commons whose config.toml trusts one passport issuer."""
    commons = build_commons(tmp_path_factory.mktemp("passport") / "home", big_bytes=64)
    pem = (
        keys["trusted"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    (commons.home.root / "broker.pem").write_bytes(pem)
    commons.home.config_path.write_text(
        f'[passport.issuers."{ISSUER}"]\npublic_key_file = "broker.pem"\nalgorithms = ["RS256"]\n'
    )
    return commons


@pytest.fixture(scope="module")
def pclient(pcommons: SampleCommons) -> Iterator[TestClient]:
    with TestClient(create_app(ServerConfig(home=pcommons.home)), "http://127.0.0.1:8000") as tc:
        yield tc


def _visa(
    key: Any, value: str, iss: str = ISSUER, exp: int = 3600, vtype: str = "ControlledAccessGrants"
) -> str:
    now = int(time.time())
    claims = {
        "iss": iss,
        "sub": "researcher@example.org",
        "iat": now,
        "exp": now + exp,
        "ga4gh_visa_v1": {
            "type": vtype,
            "value": value,
            "source": "https://dbgap.ncbi.nlm.nih.gov",
            "by": "dac",
            "asserted": now - 100,
        },
    }
    return jwt.encode(claims, key, algorithm="RS256")


def _passport(key: Any, visas: list[str], iss: str = ISSUER) -> str:
    now = int(time.time())
    claims = {
        "iss": iss,
        "sub": "researcher",
        "iat": now,
        "exp": now + 3600,
        "ga4gh_passport_v1": visas,
    }
    return jwt.encode(claims, key, algorithm="RS256")


def _closed(r: Any, status: int, secret: bytes) -> None:
    assert r.status_code == status, r.text
    assert r.json()["status_code"] == status
    assert secret[:12] not in r.content
    assert "/bytes/" not in r.text and "sig=" not in r.text


def test_no_credentials_every_path_closed(client: TestClient, commons: SampleCommons) -> None:
    c = commons.controlled[0]
    _closed(client.get(f"{API}/objects/{c.drs_id}"), 401, c.data)
    _closed(client.post(f"{API}/objects/{c.drs_id}", json={}), 401, c.data)
    _closed(client.get(f"{API}/objects/{c.drs_id}/access/https"), 401, c.data)
    _closed(client.post(f"{API}/objects/{c.drs_id}/access/https", json={}), 401, c.data)
    _closed(client.get(f"{API}/objects/bundle/HTA9_2_1"), 401, c.data)
    r = client.get(f"{API}/objects/{c.drs_id}")
    assert r.headers["www-authenticate"] == "Bearer"
    # An unknown id and a controlled one differ only in status (as OPTIONS reveals anyway).
    assert client.get(f"{API}/objects/{c.drs_id}").json()["msg"] != ""
    bulk = client.post(f"{API}/objects", json={"bulk_object_ids": [c.drs_id]})
    assert bulk.status_code == 200 and bulk.json()["resolved_drs_object"] == []
    items = [{"bulk_object_id": c.drs_id, "bulk_access_ids": ["https"]}]
    acc = client.post(f"{API}/objects/access", json={"bulk_object_access_ids": items})
    assert acc.json()["resolved_drs_object_access_urls"] == []


def test_garbage_tokens_are_anonymous(client: TestClient, commons: SampleCommons) -> None:
    c = commons.controlled[0]
    for header in ("Bearer nope", "Bearer hcds_abc_def", "Basic dXNlcjpwYXNz", "Bearer ", "hcds_x"):
        r = client.get(f"{API}/objects/{c.drs_id}", headers={"Authorization": header})
        _closed(r, 401, c.data)


def test_invalid_credentials_refused_even_for_open_objects(
    client: TestClient, commons: SampleCommons
) -> None:
    f = commons.open[0]
    for header in ("Bearer nope", "Basic dXNlcjpwYXNz"):
        r = client.get(f"{API}/objects/{f.drs_id}", headers={"Authorization": header})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert client.get(f"{API}/service-info", headers={"Authorization": "Bearer x"}).is_success


def test_token_grants_only_its_groups(client: TestClient, commons: SampleCommons) -> None:
    store = TokenStore(commons.home)
    token = store.create(["phs002371"], label="t1")
    auth = {"Authorization": f"Bearer {token}"}
    mine, other = commons.controlled
    r = client.get(f"{API}/objects/{mine.drs_id}", headers=auth)
    assert r.status_code == 200 and r.json()["checksums"][0]["checksum"] == mine.sha256
    url = client.get(f"{API}/objects/{mine.drs_id}/access/https", headers=auth).json()["url"]
    assert client.get(url).content == mine.data
    _closed(client.get(f"{API}/objects/{other.drs_id}", headers=auth), 403, other.data)
    _closed(client.get(f"{API}/objects/{other.drs_id}/access/https", headers=auth), 403, other.data)
    assert client.get(f"{API}/objects/bundle/HTA9_2_1", headers=auth).status_code == 200
    bulk = client.post(
        f"{API}/objects", json={"bulk_object_ids": [mine.drs_id, other.drs_id]}, headers=auth
    ).json()
    assert [o["id"] for o in bulk["resolved_drs_object"]] == [mine.drs_id]
    assert bulk["unresolved_drs_objects"] == [{"error_code": 403, "object_ids": [other.drs_id]}]


def test_revoked_and_expired_tokens(client: TestClient, commons: SampleCommons) -> None:
    store = TokenStore(commons.home)
    c = commons.controlled[0]
    token = store.create(["phs002371"])
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{API}/objects/{c.drs_id}", headers=auth).status_code == 200
    store.revoke(token)
    _closed(client.get(f"{API}/objects/{c.drs_id}", headers=auth), 401, c.data)
    short = store.create(["phs002371"], ttl=1)
    time.sleep(1.2)
    r = client.get(f"{API}/objects/{c.drs_id}", headers={"Authorization": f"Bearer {short}"})
    _closed(r, 401, c.data)


def test_tokens_are_stored_hashed(commons: SampleCommons) -> None:
    store = TokenStore(commons.home)
    token = store.create(["phs1"])
    text = store.path.read_text()
    assert token not in text and token.rsplit("_", 1)[1] not in text
    assert oct(store.path.stat().st_mode & 0o777) == "0o600"
    info = store.verify(token)
    assert info is not None and info.grants == ("phs1",)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert store.verify(tampered) is None


def test_passport_opens_controlled_object(
    pclient: TestClient, pcommons: SampleCommons, keys: dict[str, Any]
) -> None:
    c = pcommons.controlled[0]
    visa = _visa(keys["trusted"], "https://dbgap.ncbi.nlm.nih.gov/aa/studies/phs002371.v1.p1.c1")
    passport = _passport(keys["trusted"], [visa])
    r = pclient.post(f"{API}/objects/{c.drs_id}", json={"passports": [passport]})
    assert r.status_code == 200, r.text
    r = pclient.post(f"{API}/objects/{c.drs_id}/access/https", json={"passports": [passport]})
    assert r.status_code == 200
    assert pclient.get(r.json()["url"]).content == c.data
    auth = pclient.options(f"{API}/objects/{c.drs_id}").json()
    assert auth["passport_auth_issuers"] == [ISSUER]


def test_bad_passports_stay_closed(
    pclient: TestClient, pcommons: SampleCommons, keys: dict[str, Any]
) -> None:
    c = pcommons.controlled[0]
    good_visa = _visa(keys["trusted"], "phs002371.c1")
    cases = {
        # signed by a key the home does not trust, claiming the trusted issuer
        "forged": (_passport(keys["rogue"], [_visa(keys["rogue"], "phs002371")]), 401),
        # issuer not configured
        "unknown issuer": (_passport(keys["rogue"], [good_visa], iss=ROGUE), 401),
        # expired visa inside a valid passport: authenticated, no grant
        "expired visa": (
            _passport(keys["trusted"], [_visa(keys["trusted"], "phs002371", exp=-120)]),
            403,
        ),
        "other study": (_passport(keys["trusted"], [_visa(keys["trusted"], "phs000999.c1")]), 403),
        "wrong visa type": (
            _passport(
                keys["trusted"], [_visa(keys["trusted"], "phs002371", vtype="AffiliationAndRole")]
            ),
            403,
        ),
        "not a jwt": ("eyJhbGciOi.not.a.jwt", 401),
    }
    for name, (passport, status) in cases.items():
        r = pclient.post(f"{API}/objects/{c.drs_id}/access/https", json={"passports": [passport]})
        assert r.status_code == status, name
        assert "url" not in r.json(), name
    r = pclient.post(f"{API}/objects/{c.drs_id}", json={"passports": "not-a-list"})
    assert r.status_code == 400


def test_a_visa_alone_is_accepted(
    pclient: TestClient, pcommons: SampleCommons, keys: dict[str, Any]
) -> None:
    c = pcommons.controlled[0]
    visa = _visa(keys["trusted"], "phs002371")
    r = pclient.post(f"{API}/objects/{c.drs_id}", json={"passports": [visa]})
    assert r.status_code == 200


def test_grant_matching_rules() -> None:
    assert grant_covers("phs002371", "phs002371")
    assert grant_covers("phs002371", "phs002371.c1")
    assert grant_covers("phs002371.c1", "phs002371")
    assert not grant_covers("phs002371.c1", "phs002371.c2")
    assert not grant_covers("phs00237", "phs002371")
    assert decide([], Caller()) is None
    assert decide(["phs1"], Caller()) == 401
    assert decide(["phs1"], Caller(frozenset({"phs2"}), True)) == 403
    assert grant_from_visa_value(
        "https://dbgap.ncbi.nlm.nih.gov/aa/studies/phs002371.v5.p1.c2"
    ) == ("phs002371.c2")
    assert grant_from_visa_value("nothing here") is None
