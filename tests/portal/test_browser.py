"""The manual's CDS-portal flow in a real Chromium on the demo commons served by ``htan-cds serve``.

landing -> Explore -> pick a study and an assay -> summary checked against the catalog -> Add All
Files -> cart (survives a reload, remove one) -> Download Manifest (imported with ``htan-cds
import``, checksums checked) -> Copy CLI command -> Export to CGC (signed URL serves the manifest,
then expires) -> clear. Screenshots of every step go to ``test-artifacts/portal/``.

CGC itself cannot exist here: its import-redirect page is stood in for by a small loopback HTTP
server that only records the URL it was sent to.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
import shutil
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from htan_cds.manifest import read_manifest
from tests._browser import launch_chromium, screenshot
from tests._servers import ServerProcess, serve_in_thread, start_server
from tests.conftest import run_cli
from tests.portal.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.network, pytest.mark.slow]

STUDY = "HTAN TNP SARDANA"
ASSAY = "t-CyCIF"
EXPORT_TTL = 8


class _CgcStandIn(BaseHTTPRequestHandler):
    """Stand-in for CGC's import-redirect page: records each request line, shows a page."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        shown = html.escape(unquote(self.path))
        body = (
            "<!doctype html><title>CGC stand-in</title><h1>CGC import (stand-in)</h1>"
            f"<p>Asked to import the manifest at:</p><pre>{shown}</pre>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def cgc_stand_in() -> Iterator[str]:
    with serve_in_thread(_CgcStandIn) as url:
        yield f"{url}/import-redirect/drs/csv"


@pytest.fixture(scope="module")
def portal_server(demo_home: Path, cgc_stand_in: str) -> Iterator[ServerProcess]:
    """``htan-cds serve`` on the demo commons, exporting to the stand-in with a short TTL."""
    args = ("--export-target", cgc_stand_in, "--export-ttl", str(EXPORT_TTL))
    with start_server(demo_home, *args) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    from playwright.sync_api import expect

    # The machine is shared with other test runs: allow slow answers, fail only on wrong ones.
    expect.set_options(timeout=15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def _shot(page: Any, name: str) -> None:
    screenshot(page, ARTIFACTS, name)


def _fmt(n: int) -> str:
    return f"{n:,}"


def _expected(catalog_sql: Any, where: str, params: list[Any]) -> dict[str, int]:
    row = catalog_sql.execute(
        "SELECT count(DISTINCT HTAN_Participant_ID), "
        "(SELECT count(DISTINCT b) FROM (SELECT unnest(biospecimen_ids) b FROM files "
        f"WHERE {where})), count(*), sum(size) FROM files WHERE {where}",
        [*params, *params],
    ).fetchone()
    return dict(zip(("participants", "samples", "files", "total_size"), row, strict=True))


def test_manual_flow(
    page: Any, portal_server: ServerProcess, cgc_stand_in: str, catalog_sql: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    base = portal_server.url
    everything = _expected(catalog_sql, "TRUE", [])

    # 1. Landing page: what the commons holds, and the Explore Data button.
    page.goto(base + "/")
    expect(page.get_by_test_id("landing-files")).to_have_text(_fmt(everything["files"]))
    expect(page.get_by_test_id("landing-participants")).to_have_text(
        _fmt(everything["participants"])
    )
    expect(page.get_by_role("link", name=STUDY)).to_be_visible()
    _shot(page, "01-landing")

    # 2. Explore: the Data Explorer with every facet and the unfiltered summary.
    page.get_by_test_id("explore-button").click()
    expect(page).to_have_url(re.compile(r"/explore$"))
    expect(page.get_by_test_id("summary-files")).to_have_text(_fmt(everything["files"]))
    toggles = page.locator(".facet__toggle")
    expect(toggles).to_have_count(10)
    assert [t.split("\n")[0] for t in toggles.all_inner_texts()] == [
        "Study / Atlas",
        "HTAN Center",
        "Organ",
        "Primary Diagnosis",
        "Assay",
        "Level",
        "File Format",
        "Release",
        "Access",
        "Source",
    ]
    _shot(page, "02-explorer")

    # 3. Select an HTAN study and an assay, as the manual picks its imaging study.
    page.locator(f'[data-facet="atlas"] input[value="{STUDY}"]').check()
    expect(page).to_have_url(re.compile(r"atlas=HTAN\+TNP\+SARDANA"))
    page.locator(f'[data-facet="assay"] input[value="{ASSAY}"]').check()
    expect(page).to_have_url(re.compile(r"assay=t-CyCIF"))
    chosen = _expected(catalog_sql, "atlas_name = ? AND assay = ?", [STUDY, ASSAY])
    assert 0 < chosen["files"] < everything["files"]

    # 4. The summary follows the selection and agrees with the catalog.
    expect(page.get_by_test_id("summary-files")).to_have_text(_fmt(chosen["files"]))
    expect(page.get_by_test_id("summary-participants")).to_have_text(_fmt(chosen["participants"]))
    expect(page.get_by_test_id("summary-samples")).to_have_text(_fmt(chosen["samples"]))
    expect(page.get_by_test_id("summary-size")).to_have_attribute(
        "title", f"{_fmt(chosen['total_size'])} bytes"
    )
    expect(page.locator("#results-table tbody tr")).to_have_count(min(25, chosen["files"]))
    _shot(page, "03-study-and-assay")

    # The URL is the state: opening it fresh shows the same selection.
    shared = page.context.new_page()
    shared.goto(page.url)
    expect(shared.get_by_test_id("summary-files")).to_have_text(_fmt(chosen["files"]))
    expect(shared.locator(f'[data-facet="assay"] input[value="{ASSAY}"]')).to_be_checked()
    shared.close()

    # Server-side sort: a number column sorts largest first on the first click.
    page.locator('th[data-key="size"] button').click()
    expect(page.locator('th[data-key="size"]')).to_have_attribute("aria-sort", "descending")
    largest = catalog_sql.execute(
        "SELECT name FROM files WHERE atlas_name = ? AND assay = ? ORDER BY size DESC, drs_id "
        "LIMIT 1",
        [STUDY, ASSAY],
    ).fetchone()[0]
    expect(page.locator("#results-table tbody tr").first).to_contain_text(largest)

    # 5. Add All Files: every file under the filter, counted in the cart icon.
    page.get_by_test_id("add-all-files").click()
    expect(page.get_by_test_id("cart-count")).to_have_text(_fmt(chosen["files"]))
    _shot(page, "04-added-to-cart")

    # 6. The cart: files and total size, and it survives a reload.
    page.get_by_role("link", name="Cart").click()
    expect(page).to_have_url(re.compile(r"/cart$"))
    expect(page.get_by_test_id("cart-files")).to_have_text(_fmt(chosen["files"]))
    page.reload()
    expect(page.get_by_test_id("cart-files")).to_have_text(_fmt(chosen["files"]))
    expect(page.get_by_test_id("cart-size")).to_have_attribute(
        "title", f"{_fmt(chosen['total_size'])} bytes"
    )
    _shot(page, "05-cart")

    # Remove one file from a cart that holds a filter.
    first_name = page.locator("#cart-table tbody tr").first.locator("td").first.inner_text()
    page.locator("#cart-table tbody tr").first.get_by_role(
        "button", name=re.compile("Remove")
    ).click()
    in_cart = chosen["files"] - 1
    expect(page.get_by_test_id("cart-files")).to_have_text(_fmt(in_cart))
    expect(page.get_by_test_id("cart-count")).to_have_text(_fmt(in_cart))

    # 7. Download Manifest (CGC CSV, the default) and import it with htan-cds import.
    expect(page.get_by_test_id("manifest-format")).to_have_value("cgc")
    with page.expect_download() as info:
        page.get_by_test_id("download-manifest").click()
    manifest = tmp_path / info.value.suggested_filename
    info.value.save_as(str(manifest))
    shutil.copy(manifest, ARTIFACTS / "downloaded-manifest.csv")
    rows = read_manifest(manifest)
    assert len(rows) == in_cart
    assert first_name not in {r.name for r in rows}
    assert all(r.drs_uri.startswith(f"drs://127.0.0.1:{portal_server.port}/dg.HCDS/") for r in rows)
    dest = tmp_path / "imported"
    result = run_cli(
        "import", str(manifest), "--to", str(dest), "--json", home=tmp_path / "h", timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    sha_by_id = dict(
        catalog_sql.execute(
            "SELECT drs_id, sha256 FROM files WHERE atlas_name = ? AND assay = ?", [STUDY, ASSAY]
        ).fetchall()
    )
    for row in rows:
        drs_id = row.drs_uri.split("/", 3)[3]
        data = (dest / str(row.name)).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha_by_id[drs_id], row.name

    # 8. Copy CLI command: the import line for the same files.
    page.get_by_test_id("cli-command").click()
    expect(page.locator("#cli-text")).to_contain_text("| htan-cds import - --to htan-data")
    _shot(page, "06-export-options")

    # 9. Export to Cancer Genomics Cloud: sent to the target with a signed manifest URL.
    page.get_by_test_id("export-cgc").click()
    expect(page).to_have_url(re.compile(re.escape(cgc_stand_in) + r"\?URL="))
    _shot(page, "07-cgc-stand-in")
    signed = parse_qs(urlsplit(page.url).query)["URL"][0]
    assert signed.startswith(f"{portal_server.url}/api/exports/")
    served = httpx.get(signed, timeout=10)
    assert served.status_code == 200
    assert len(read_manifest(io.StringIO(served.text), format="cgc")) == in_cart
    expires = int(parse_qs(urlsplit(signed).query)["expires"][0])
    time.sleep(max(0.0, expires - time.time()) + 1.5)
    assert httpx.get(signed, timeout=10).status_code == 403

    # 10. Clear the cart.
    page.goto(base + "/cart")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("clear-cart").click()
    expect(page.get_by_test_id("cart-files")).to_have_text("0")
    expect(page.get_by_test_id("cart-count")).to_have_text("0")
    _shot(page, "08-cart-cleared")


def test_file_detail_and_add_selected(
    page: Any, portal_server: ServerProcess, catalog_sql: Any
) -> None:
    from playwright.sync_api import expect

    drs_id, name, sha = catalog_sql.execute(
        "SELECT f.drs_id, f.name, f.sha256 FROM files f WHERE f.atlas_name = ? AND f.assay = ? "
        "AND f.File_Format = 'OME-TIFF' AND f.level = 'Level 2' ORDER BY f.name LIMIT 1",
        [STUDY, ASSAY],
    ).fetchone()
    page.goto(portal_server.url + f"/explore?atlas={STUDY}&assay={ASSAY}&format=OME-TIFF")
    row = page.locator("#results-table tbody tr", has_text=name)
    row.get_by_role("checkbox").check()
    expect(page.get_by_test_id("add-selected")).to_contain_text("(1)")
    page.get_by_test_id("add-selected").click()
    expect(page.get_by_test_id("cart-count")).to_have_text("1")
    row.get_by_role("link", name=name).click()
    expect(page).to_have_url(re.compile(r"/file/dg\.HCDS/"))
    expect(page.get_by_test_id("drs-uri")).to_have_text(
        f"drs://127.0.0.1:{portal_server.port}/{drs_id}"
    )
    expect(page.get_by_test_id("sha256")).to_have_text(sha)
    channels = catalog_sql.execute(
        "SELECT count(*) FROM channels WHERE drs_id = ?", [drs_id]
    ).fetchone()[0]
    if channels:
        expect(page.locator('[data-testid="channels"] tbody tr')).to_have_count(channels)
    # The thumbnail comes from the imaging area's endpoint; without it, a placeholder shows.
    page.wait_for_function("() => document.getElementById('thumbnail').complete", timeout=60_000)
    thumb = httpx.get(f"{portal_server.url}/thumbnails/{drs_id}.png", timeout=60)
    if thumb.status_code == 200:
        assert page.evaluate("() => document.getElementById('thumbnail').naturalWidth") > 0
    else:
        expect(page.locator("#thumb-placeholder")).to_be_visible()
    _shot(page, "09-file-detail")


def test_keyboard_and_labels(page: Any, portal_server: ServerProcess, catalog_sql: Any) -> None:
    from playwright.sync_api import expect

    page.goto(portal_server.url + "/explore")
    expect(page.locator('[data-facet="assay"] input[type="checkbox"]').first).to_be_visible()
    # Every form control has an accessible name.
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, select, button')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.textContent.trim() && el.type !== 'hidden')
            .map(el => el.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []
    # The facet search box narrows a long list.
    page.get_by_label("Search Assay values").fill("cycif")
    visible = page.locator('[data-facet="assay"] .facet__value:visible')
    cycif = catalog_sql.execute(
        "SELECT count(DISTINCT assay) FROM files WHERE assay ILIKE '%cycif%'"
    ).fetchone()[0]
    expect(visible).to_have_count(cycif)
    assert all("cycif" in t.lower() for t in visible.all_inner_texts())
    page.get_by_label("Search Assay values").fill("")
    # Keyboard only: Tab into the first facet value, Space selects it.
    page.get_by_test_id("clear-filters").focus()
    page.keyboard.press("Tab")
    expect(page.locator('[data-facet="atlas"] .facet__toggle')).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Search Study / Atlas values")).to_be_focused()
    page.keyboard.press("Tab")
    first = page.locator('[data-facet="atlas"] input[type="checkbox"]').first
    expect(first).to_be_focused()
    page.keyboard.press(" ")
    expect(page).to_have_url(re.compile(r"atlas="))
    expect(page.locator('[data-facet="atlas"] input[type="checkbox"]').first).to_be_checked()
    expect(page.locator('[data-facet="atlas"] input[type="checkbox"]').first).to_be_focused()
    # Arrow keys move between the result tabs.
    page.locator("#tab-files").focus()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#tab-samples")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#results-table thead")).to_contain_text("Sample")
    expect(page).to_have_url(re.compile(r"tab=samples"))
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#tab-participants")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#results-table tbody tr").first).to_contain_text("HTA")
    _shot(page, "10-participants-tab")
    page.goto(portal_server.url + "/cart")
    assert (
        page.evaluate(
            """() => [...document.querySelectorAll('input, select, button')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.textContent.trim() && el.type !== 'hidden').length"""
        )
        == 0
    )


def test_export_lands_on_a_workspace_import_page(
    page: Any, demo_home: Path, tmp_path_factory: pytest.TempPathFactory, catalog_sql: Any
) -> None:
    """The two-server path of the manual: the commons exports, a workspace's page receives."""
    from playwright.sync_api import expect

    ws_home = tmp_path_factory.mktemp("workspace") / "home"
    ws_home.mkdir()
    # The workspace reaches loopback commons only when the operator allows it (issue 11).
    (ws_home / "config.toml").write_text('[workspace]\nallow_hosts = ["127.0.0.1"]\n')
    made = run_cli("token", "create", "--grant", "open", "--label", "alice", home=ws_home)
    assert made.returncode == 0, made.stderr
    token = next(w for w in made.stdout.split() if w.startswith("hcds_"))
    with start_server(ws_home, "--workspace", ready_path="/v2/rate_limit") as workspace:
        target = f"{workspace.url}/import-redirect/drs/csv"
        with start_server(demo_home, "--export-target", target) as commons:
            page.goto(f"{commons.url}/explore?atlas={STUDY}&assay={ASSAY}")
            expected = catalog_sql.execute(
                "SELECT count(*) FROM files WHERE atlas_name = ? AND assay = ?", [STUDY, ASSAY]
            ).fetchone()[0]
            expect(page.get_by_test_id("summary-files")).to_have_text(_fmt(expected))
            page.get_by_test_id("add-all-files").click()
            expect(page.get_by_test_id("cart-count")).to_have_text(_fmt(expected))
            page.goto(f"{commons.url}/cart")
            expect(page.get_by_test_id("cart-files")).to_have_text(_fmt(expected))
            page.get_by_test_id("export-cgc").click()
            expect(page).to_have_url(re.compile(re.escape(target) + r"\?URL="))
            page.get_by_label("Workspace token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            # The workspace fetched the signed manifest and lists its files for confirmation.
            first = catalog_sql.execute(
                "SELECT name FROM files WHERE atlas_name = ? AND assay = ? ORDER BY name LIMIT 1",
                [STUDY, ASSAY],
            ).fetchone()[0]
            expect(page.locator("body")).to_contain_text(first)
            expect(page.locator("body")).to_contain_text(f"lists {expected} files")
            _shot(page, "11-workspace-import-page")
            # Import: the workspace pulls every file from the commons over DRS.
            page.get_by_label("New project name").fill("htan-demo")
            page.get_by_role("button", name=re.compile(r"^Import \d+ files")).click()
            expect(page.locator("body")).to_contain_text("FINISHED", timeout=120_000)
            expect(page.locator("body")).to_contain_text(f"{expected} of {expected} processed")
            assert page.locator("text=imported").count() == expected
            _shot(page, "12-workspace-import-finished")
