"""Import-redirect over HTTP: portal export -> workspace confirm page -> import -> project.

Two real servers (a commons exporting to the workspace, and the workspace); a plain HTTP
client plays the browser here (the Playwright test drives a real one).
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.workspace.conftest import Pair

pytestmark = pytest.mark.network
HTML = {"Accept": "text/html"}


def _export(pair: Pair, ids: list[str]) -> str:
    """The portal's redirect URL for a cart holding ``ids`` (what the Export button does)."""
    import json

    resp = httpx.post(
        pair.commons.url + "/api/cart/export",
        data={"cart": json.dumps({"ids": ids})},
        headers={"Accept": "application/json"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    redirect: str = resp.json()["redirect"]
    assert redirect.startswith(pair.workspace.server.url + "/import-redirect/drs/csv?URL=")
    return redirect


def _signin(browser: httpx.Client, redirect: str, token: str) -> httpx.Response:
    """Follow the export redirect as a browser: sign-in page, sign in, confirm page."""
    page = browser.get(redirect, headers=HTML)
    assert page.status_code == 200 and 'action="/import-redirect/signin"' in page.text
    assert '<label for="token">' in page.text
    url = parse_qs(urlsplit(redirect).query)["URL"][0]
    # The form's CSRF value goes with its pre-session cookie; each answer brings a fresh pair.
    form = {"token": "hcds_x_y", "URL": url, "csrf": _hidden(page.text, "csrf")}
    bad = browser.post("/import-redirect/signin", data=form)
    assert bad.status_code == 401 and 'id="signin-error"' in bad.text
    form = {"token": token, "URL": url, "csrf": _hidden(bad.text, "csrf")}
    signed = browser.post("/import-redirect/signin", data=form)
    assert signed.status_code == 303
    return browser.get(signed.headers["location"], headers=HTML)


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert match, f"no hidden field {name}"
    return match.group(1)


def _demo_ids(pair: Pair, n: int) -> list[str]:
    """Open-access files of the commons (the workspace holds no token for controlled ones)."""
    from htan_cds.catalog import Catalog, FileFilter
    from htan_cds.config import DataHome

    with Catalog.open(DataHome.open(pair.commons.home), read_only=True) as catalog:
        frame = catalog.find(FileFilter(access=["open"]), sort="size", limit=n)
        return [str(x) for x in frame["drs_id"]]


def test_export_confirm_import(pair: Pair) -> None:
    ws = pair.workspace
    redirect = _export(pair, _demo_ids(pair, 3))
    with httpx.Client(base_url=ws.server.url, timeout=30) as browser:
        page = _signin(browser, redirect, ws.token)
        assert page.status_code == 200, page.text
        assert 'id="file-count">3<' in page.text
        assert "Signed in as <strong>alice</strong>" in page.text
        assert '<label for="new_project">' in page.text
        form = {
            "manifest_id": _hidden(page.text, "manifest_id"),
            "csrf": _hidden(page.text, "csrf"),
            "new_project": "From Portal",
            "tags": "htan, imaging",
            "conflict_resolution": "RENAME",
        }
        started = browser.post("/import-redirect/drs/confirm", data=form)
        assert started.status_code == 303
        job_url = started.headers["location"]
        deadline = time.monotonic() + 60
        while True:
            job_page = browser.get(job_url, headers=HTML)
            assert job_page.status_code == 200
            if 'id="job-state">FINISHED<' in job_page.text:
                break
            assert time.monotonic() < deadline
            time.sleep(0.3)
        errors = re.findall(r"class=\"error\">([^<]*)<", job_page.text)
        assert job_page.text.count(">imported<") == 3, errors
        # The same form posted twice does not start a second import.
        again = browser.post("/import-redirect/drs/confirm", data=form)
        assert again.headers["location"] == job_url
        project = browser.get("/workspace/projects/alice/from-portal", headers=HTML)
        assert project.text.count('class="file-name"') == 3
        assert "htan, imaging" in project.text


def _status(resp: httpx.Response) -> tuple[int, int]:
    body: dict[str, Any] = resp.json()
    assert set(body) == {"status", "code", "message", "more_info"}
    return resp.status_code, int(body["code"])


def test_bad_manifest_urls(pair: Pair) -> None:
    ws = pair.workspace.server.url + "/import-redirect/drs/csv"
    auth = {"X-SBG-Auth-Token": pair.workspace.token}
    get = lambda url: httpx.get(ws, params={"URL": url}, headers=auth, timeout=30)  # noqa: E731
    assert _status(httpx.get(ws, headers=auth, timeout=10)) == (400, 9000)
    # Nothing is fetched for someone not signed in.
    anonymous = httpx.get(ws, params={"URL": pair.commons.url + "/"}, timeout=10)
    assert _status(anonymous) == (401, 401)
    assert _status(get("ftp://127.0.0.1/x.csv")) == (400, 9203)
    assert _status(get("not a url")) == (400, 9203)
    assert _status(get("http://169.254.169.254/latest/meta-data")) == (400, 9203)
    assert _status(get("http://user:pw@127.0.0.1/x")) == (400, 9203)
    assert _status(get("http://127.0.0.1:1/manifest.csv")) == (502, 9201)
    assert _status(get("http://no-such-host.invalid/m.csv"))[1] == 9201
    # Not a manifest at all.
    assert _status(get(pair.commons.url + "/ga4gh/drs/v1/service-info")) == (400, 9202)
    # An expired (or tampered) signature: the commons refuses, the workspace says so.
    redirect = _export(pair, _demo_ids(pair, 1))
    signed = parse_qs(urlsplit(redirect).query)["URL"][0]
    expired = re.sub(r"expires=\d+", "expires=1000", signed)
    assert _status(get(expired)) == (403, 9204)
    html = httpx.get(ws, params={"URL": expired}, headers={**HTML, **auth}, timeout=30)
    assert html.status_code == 403 and 'role="alert"' in html.text


def test_bad_confirmations(pair: Pair) -> None:
    ws = pair.workspace
    redirect = _export(pair, _demo_ids(pair, 1))
    with httpx.Client(base_url=ws.server.url, timeout=30) as browser:
        page = _signin(browser, redirect, ws.token).text
        form = {
            "manifest_id": _hidden(page, "manifest_id"),
            "csrf": _hidden(page, "csrf"),
            "token": ws.token,
            "project": "alice/does-not-exist",
            "conflict_resolution": "SKIP",
        }
        post = lambda data: browser.post("/import-redirect/drs/confirm", data=data)  # noqa: E731
        assert _status(post({**form, "csrf": "0" * 64})) == (403, 9000)
        assert _status(post({**form, "token": "hcds_bad_token"})) == (401, 401)
        assert _status(post(form)) == (404, 3002)
        assert _status(post({**form, "conflict_resolution": "MERGE", "new_project": "x"}))[0] == 400
        # Nothing was imported by the refused confirmations.
        job_pages = browser.get("/workspace/projects/alice/x", headers=HTML)
        assert job_pages.status_code == 404 or 'class="file-name"' not in job_pages.text
