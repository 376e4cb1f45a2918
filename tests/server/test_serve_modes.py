"""``serve --workers 2`` (uvicorn multi-process) and JWKS-configured passport issuers."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from htan_cds.config import DataHome
from htan_cds.server.passports import load_verifier
from tests._servers import start_server
from tests.server._catalog import SampleCommons

API = "/ga4gh/drs/v1"


@pytest.mark.network
def test_two_workers_serve_objects_and_bytes(commons: SampleCommons) -> None:
    big = next(f for f in commons.files if f.name == "big.bin")
    with start_server(commons.home.root, "--workers", "2", "--access-ttl", "30") as server:
        with httpx.Client(base_url=server.url + API, timeout=30) as http:
            for _ in range(20):  # spread over both workers
                assert http.get(f"/objects/{commons.open[0].drs_id}").status_code == 200
            url = http.get(f"/objects/{big.drs_id}/access/https").json()["url"]
        expires = int(url.split("expires=")[1].split("&")[0])
        assert 0 < expires - time.time() <= 31
        r = httpx.get(url, timeout=30)
        assert r.status_code == 200 and r.content == big.data


def test_passport_issuer_from_jwks_file(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwk["kid"] = "k1"
    home = DataHome.open(tmp_path / "home")
    (home.root / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
    home.config_path.write_text(
        '[passport.issuers."https://idp.example"]\njwks_file = "jwks.json"\n'
    )
    verifier = load_verifier(home)
    now = int(time.time())
    visa = {
        "iss": "https://idp.example",
        "sub": "u",
        "iat": now,
        "exp": now + 60,
        "ga4gh_visa_v1": {"type": "ControlledAccessGrants", "value": "phs000123.v1.p1.c2"},
    }
    signed = jwt.encode(visa, key, algorithm="ES256", headers={"kid": "k1"})
    assert verifier.grants([signed]) == frozenset({"phs000123.c2"})
    other = jwt.encode(visa, key, algorithm="ES256", headers={"kid": "unknown"})
    assert verifier.grants([other]) == frozenset({"phs000123.c2"})  # single key: kid optional
    assert verifier.grants(["garbage"]) is None
