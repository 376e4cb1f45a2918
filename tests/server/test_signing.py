"""HMAC signing helpers (used by byte URLs and by other areas, e.g. portal manifests)."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from htan_cds.server.signing import sign, signed_query, signed_url, verify

KEY = b"k" * 32


def test_roundtrip_and_binding() -> None:
    exp = int(time.time()) + 60
    sig = sign(KEY, "/bytes/a", exp)
    assert verify(KEY, "/bytes/a", exp, sig)
    assert verify(KEY, "/bytes/a", str(exp), sig)
    assert not verify(KEY, "/bytes/b", exp, sig)
    assert not verify(KEY, "/bytes/a", exp + 1, sig)
    assert not verify(KEY, "/bytes/a", exp, sig, "POST")
    assert not verify(b"x" * 32, "/bytes/a", exp, sig)
    assert not verify(KEY, "/bytes/a", exp, sig, now=exp + 1)


def test_signed_url_shape() -> None:
    url = signed_url("https://h.example/", KEY, "/bytes/dg.HCDS/x", 30)
    assert url.startswith("https://h.example/bytes/dg.HCDS/x?expires=")
    query = signed_query(KEY, "/p", 30)
    params = dict(p.split("=", 1) for p in query.split("&"))
    assert verify(KEY, "/p", params["expires"], params["sig"])


@given(path=st.text(min_size=1, max_size=50), junk=st.text(max_size=60), exp=st.text(max_size=12))
def test_verify_never_raises(path: str, junk: str, exp: str) -> None:
    assert verify(KEY, path, exp, junk) in (True, False)
