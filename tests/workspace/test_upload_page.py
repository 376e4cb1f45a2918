"""``/workspace/import``: upload a manifest file, see ``check``'s findings and ``--fix``'s
changes, pick a project, import, and follow the same progress page as import-redirect.

The browser flow runs in a real Chromium against ``htan-cds serve --workspace`` importing from
the demo commons (``htan-cds serve``), both real processes on loopback; screenshots go to
``test-artifacts/workspace/``. The HTTP tests pin the page's guards (sign-in, CSRF, cross-site,
size) and the formats it reads.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._browser import launch_chromium, screenshot
from tests._servers import ServerProcess
from tests.conftest import run_cli
from tests.workspace.conftest import Workspace

pytestmark = [pytest.mark.network, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "workspace"
HTML = {"Accept": "text/html"}


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name} field"
    return found.group(1)


@pytest.fixture(scope="module")
def cart_rows(
    demo_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> list[list[str]]:
    """A CGC manifest of five small open demo files, written by ``manifest create``."""
    out = tmp_path_factory.mktemp("upload") / "cart.csv"
    made = run_cli(
        "--home", str(demo_server.home), "manifest", "create", "--access", "open",
        "--file-format", "csv", "--level", "4", "--format", "cgc", "-o", str(out),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    rows = list(csv.reader(out.open(newline="")))
    assert len(rows) >= 6, rows
    return [rows[0], *rows[1:6]]


def _flawed(cart_rows: list[list[str]]) -> tuple[bytes, dict[str, Any]]:
    """The cart with one of each repairable and unrepairable problem; what --fix must do."""
    header, *rows = (list(r) for r in cart_rows)
    name_col = header.index("name")
    rows[1][name_col] = "../unsafe name?.csv"  # row 2: unsafe -> renamed
    rows[3][name_col] = rows[2][name_col]  # row 4: same name as row 3 -> numbered
    rows.append(list(rows[0]))  # row 6: the same DRS object again -> dropped
    broken = list(rows[4])
    broken[header.index("drs_uri")] = "not-a-drs-uri"
    rows.append(broken)  # row 7: no DRS URI -> dropped
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    return buf.getvalue().encode(), {"rows": 7, "importable": 5, "dropped": {6, 7}}


def _catalog_sha(demo_home: Path) -> dict[str, str]:
    result = run_cli("--home", str(demo_home), "sql", "SELECT drs_id, sha256 FROM files", "--json")
    return {r["drs_id"]: r["sha256"] for r in json.loads(result.stdout)["rows"]}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.mark.browser
def test_upload_review_import_in_chromium(
    browser: Any,
    workspace: Workspace,
    demo_server: ServerProcess,
    cart_rows: list[list[str]],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    data, expected = _flawed(cart_rows)
    manifest = tmp_path / "cds_cart.csv"
    manifest.write_bytes(data)
    base = workspace.server.url
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(base + "/workspace/import")
        # Not signed in: the portal-look sign-in form, then back to the upload page.
        expect(page.locator(".site-header")).to_be_visible()
        screenshot(page, ARTIFACTS, "upload-01-signin")
        page.get_by_label("Workspace token").fill(workspace.token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/workspace/import$"))
        expect(page.get_by_role("heading", name="Import from a DRS server")).to_be_visible()
        screenshot(page, ARTIFACTS, "upload-02-form")

        page.get_by_label("Manifest (CSV, TSV, JSON; .gz allowed)").set_input_files(str(manifest))
        page.get_by_role("button", name="Check the manifest").click()
        expect(page.locator("#row-count")).to_have_text(str(expected["rows"]))
        expect(page.locator("#importable-count")).to_have_text(str(expected["importable"]))
        expect(page.locator("#dropped-count")).to_have_text("2")
        # check's findings: the unsafe name (error), the repeated name, object and bad URI.
        findings = page.locator("#findings tbody")
        for code in ("name_unsafe", "name_duplicate", "uri_duplicate", "uri_invalid"):
            expect(findings).to_contain_text(code)
        expect(page.locator("#check-verdict")).to_have_text("has errors")
        # --fix's changes: renamed rows and the two rows it cannot import, with reasons.
        fixes = page.locator("#fixes tbody")
        expect(fixes.locator("tr", has_text="name_unsafe")).to_contain_text("renamed to")
        expect(fixes.locator("tr", has_text="name_duplicate")).to_contain_text("renamed to")
        expect(fixes.locator("tr.row--dropped")).to_have_count(2)
        expect(page.locator("#start-import")).to_have_text("Import 5 files")
        screenshot(page, ARTIFACTS, "upload-03-review")

        page.get_by_label("New project name").fill("uploaded cart")
        page.get_by_label("Tags for the imported files").fill("htan, upload")
        page.locator("#start-import").click()
        page.wait_for_url(re.compile(r"/import-redirect/jobs/"))
        expect(page.locator("#job-state")).to_have_text("FINISHED", timeout=120_000)
        expect(page.locator("#results .ok")).to_have_count(5)
        screenshot(page, ARTIFACTS, "upload-04-job")
        page.locator(".project-link").first.click()
        expect(page.locator(".file-name")).to_have_count(5)
        screenshot(page, ARTIFACTS, "upload-05-project")
        page.get_by_role("link", name="Projects").first.click()
        expect(page.locator("#projects")).to_contain_text("uploaded cart")
        screenshot(page, ARTIFACTS, "upload-06-projects")
    finally:
        context.close()
    assert errors == []

    # The project holds the five repaired rows, byte for byte the commons' objects.
    from htan_cds.config import DataHome
    from htan_cds.workspace.store import WorkspaceStore

    store = WorkspaceStore.open(DataHome.open(workspace.home))
    try:
        imported = store.list_files("alice/uploaded-cart")[0]
    finally:
        store.close()
    names = sorted(f.name for f in imported)
    assert len(names) == 5 and "unsafe name_.csv" in names, names
    assert sum(1 for n in names if re.search(r"_2\.[a-z]+$", n)) == 1, names
    catalog = _catalog_sha(demo_server.home)
    for item in imported:
        source = str(item.source_drs_uri).split("/", 3)[3]  # drs://host:port/<drs id>
        assert item.sha256 == catalog[source], item.name
        assert sorted(item.tags) == ["htan", "upload"]


@contextlib.contextmanager
def _signed_in(workspace: Workspace) -> Iterator[httpx.Client]:
    """An HTTP client carrying the workspace cookie, as a browser would after signing in."""
    with httpx.Client(base_url=workspace.server.url, headers=HTML, timeout=30) as client:
        yield _sign_in(client, workspace)


def _sign_in(client: httpx.Client, workspace: Workspace) -> httpx.Client:
    form = client.get("/workspace/import")
    assert form.status_code == 200 and 'action="/import-redirect/signin"' in form.text
    signed = client.post(
        "/import-redirect/signin",
        data={"token": workspace.token, "next": "/workspace/import", "URL": "",
              "csrf": _hidden(form.text, "csrf")},
    )  # fmt: skip
    assert signed.status_code == 303 and signed.headers["location"] == "/workspace/import"
    return client


def _upload(
    client: httpx.Client, data: bytes, name: str = "m.csv", **fields: str
) -> httpx.Response:
    page = client.get("/workspace/import")
    form = {"csrf": _hidden(page.text, "csrf"), "format": "auto", **fields}
    return client.post("/workspace/import", data=form, files={"manifest": (name, data)})


def test_upload_reads_every_format_and_gzip(
    workspace: Workspace, cart_rows: list[list[str]]
) -> None:
    header, *rows = cart_rows
    uri, name = header.index("drs_uri"), header.index("name")
    gen3 = json.dumps(
        [{"object_id": r[uri].split("/", 3)[3], "commons_url": r[uri].split("/")[2],
          "file_name": r[name]} for r in rows]
    ).encode()  # fmt: skip
    tsv = "\n".join("\t".join(("drs_uri", "name") if i == 0 else (r[uri], r[name]))
                    for i, r in enumerate([header, *rows])).encode()  # fmt: skip
    plain = "\n".join(",".join(r) for r in cart_rows).encode()
    with _signed_in(workspace) as client:
        for label, data in (
            ("gen3.json", gen3),
            ("cart.tsv", tsv),
            ("cart.csv.gz", gzip.compress(plain)),
        ):
            page = _upload(client, data, label)
            assert page.status_code == 200, (label, page.text[:500])
            assert f'id="row-count">{len(rows)}<' in page.text, label
            assert f'id="importable-count">{len(rows)}<' in page.text, label


def test_upload_guards(workspace: Workspace, cart_rows: list[list[str]]) -> None:
    plain = "\n".join(",".join(r) for r in cart_rows).encode()
    # Not signed in: the page asks for the token; a direct POST is refused.
    anon = httpx.Client(base_url=workspace.server.url, headers=HTML, timeout=30)
    assert "Sign in to import" in anon.get("/workspace/import").text
    refused = anon.post("/workspace/import", files={"manifest": ("m.csv", plain)})
    assert refused.status_code == 401 and 'role="alert"' in refused.text
    with _signed_in(workspace) as client:
        # A form without this user's token (CSRF) or sent from another site is refused.
        forged = client.post(
            "/workspace/import", data={"csrf": "0" * 64}, files={"manifest": ("m.csv", plain)}
        )
        assert forged.status_code == 403
        page = client.get("/workspace/import")
        cross = client.post(
            "/workspace/import",
            data={"csrf": _hidden(page.text, "csrf")},
            files={"manifest": ("m.csv", plain)},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert cross.status_code == 403
        # Not a manifest, not UTF-8, empty, a bomb: one clear message each, never a 500.
        for data, status, needle in (
            (b"\x8fgarbage\x81", 400, "not UTF-8"),  # undefined in Windows-1252 too
            (b"GIF89a\x00\x01", 400, "not a text file"),
            (b"", 400, "m.csv: the manifest is empty"),
            (b"hello,world\n1,2\n", 400, "unreadable"),
            (gzip.compress(b"a" * (17 * 1024 * 1024)), 413, "larger than"),
        ):
            bad = _upload(client, data)
            assert bad.status_code == status, (needle, bad.status_code, bad.text[:300])
            assert needle in bad.text and "Traceback" not in bad.text
        unknown = _upload(client, plain, format="excel")
        assert unknown.status_code == 400 and "Unknown manifest format" in unknown.text
