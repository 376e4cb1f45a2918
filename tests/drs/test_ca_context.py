"""Which CA bundle gets a TLS context of its own (net/environment.custom_ssl_context).

OpenSSL's ``set_default_verify_paths`` reads ``SSL_CERT_FILE``/``SSL_CERT_DIR`` itself (OpenSSL
``X509_get_default_cert_file_env``; ``ssl.get_default_verify_paths()`` names both variables),
so the HTTP libraries' default context already trusts what they name: loading it once more
only costs start-up. ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` are not read by OpenSSL.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from htan_cds.net import environment
from tests._servers import self_signed_cert

_ALL = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def _env(monkeypatch: pytest.MonkeyPatch, at_start: dict[str, str], now: dict[str, str]) -> None:
    for name in _ALL:
        monkeypatch.delenv(name, raising=False)
    for name, value in now.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        environment, "_AT_START", {v: at_start.get(v) for v in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    )


def test_openssl_defaults_are_not_loaded_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, _ = self_signed_cert(tmp_path)
    names = {"SSL_CERT_FILE": str(cert), "SSL_CERT_DIR": str(tmp_path)}
    _env(monkeypatch, names, names)
    assert environment.custom_ssl_context() is None
    assert ssl.get_default_verify_paths().openssl_cafile_env == "SSL_CERT_FILE"


def test_a_bundle_openssl_does_not_read_gets_its_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, _ = self_signed_cert(tmp_path)
    _env(monkeypatch, {}, {"REQUESTS_CA_BUNDLE": str(cert)})
    ctx = environment.custom_ssl_context()
    assert ctx is not None and ctx.cert_store_stats()["x509"] == 1


def test_a_variable_changed_since_start_gets_its_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # aiohttp built its default context from the start-up value: it would not trust this one.
    cert, _ = self_signed_cert(tmp_path)
    _env(
        monkeypatch,
        {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"},
        {"SSL_CERT_FILE": str(cert)},
    )
    ctx = environment.custom_ssl_context()
    assert ctx is not None and ctx.cert_store_stats()["x509"] == 1


def test_no_bundle_named_uses_the_library_default(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, {}, {})
    assert environment.custom_ssl_context() is None
