"""The portal's small lies, fixed and pinned in a real Chromium (screenshots in
``test-artifacts/portal/``), plus the forgiving filters and marker search seen from the portal.

* "Resolve it at" names the file's own DRS server (CRDC's for CRDC files), this server only for
  the files it serves — and the page never contacts another host.
* The Files table fits a 1366 px screen: every column, Access last, even with long names.
* The header works on a phone (390 px): nothing wider than the screen, every link visible.
* A browser asking for a missing page gets an HTML page; API clients still get JSON.
* The workspace's pages share the portal's look.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests._browser import launch_chromium, screenshot
from tests._servers import ServerProcess, free_port, start_server
from tests.conftest import run_cli
from tests.portal.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.network, pytest.mark.slow]

CRDC_ID = f"dg.4DFC/{uuid.UUID(int=0x624649D2)}"
LONG_NAME = "HTA13_1_1_" + "multiplexed_tissue_cycif_segmentation_quantification_" * 2 + "v2.csv"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def lies_commons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A commons serving two local files (one with a long name) and listing one CRDC file."""
    root = tmp_path_factory.mktemp("lies")
    home = root / "home"
    src = root / "src"
    src.mkdir()
    (src / LONG_NAME).write_text("cell,x,y\n1,2,3\n")
    (src / "notes.txt").write_text("hello\n")
    port = free_port()
    ingested = run_cli(
        "--home", str(home), "ingest", str(src), "--center", "TNP SARDANA",
        "--authority", f"127.0.0.1:{port}",
    )  # fmt: skip
    assert ingested.returncode == 0, ingested.stderr
    from htan_cds.catalog import Catalog
    from htan_cds.config import DataHome

    with Catalog.open(DataHome.open(home)) as catalog:
        # A file CRDC serves, as a catalog built from ISB-CGC's DRS map lists it.
        catalog.insert_rows(
            "files",
            [
                {
                    "drs_id": CRDC_ID,
                    "drs_host": "nci-crdc.datacommons.io",
                    "drs_uri": f"drs://nci-crdc.datacommons.io/{CRDC_ID}",
                    "name": "CRC01b_07_channels.csv",
                    "HTAN_Data_File_ID": "HTA13_1_2001",
                    "HTAN_Center": "HTAN TNP SARDANA",
                    "atlas_name": "HTAN TNP SARDANA",
                    "level": "Auxiliary",
                    "File_Format": "csv",
                    "size": 1234,
                    "access": "open",
                    "created_time": datetime(2024, 1, 1),
                }
            ],
        )
        catalog.refresh_derived()
    with start_server(home, "--workspace", port=port) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(width: int = 1366, height: int = 768) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _local_id(server: ServerProcess) -> str:
    found = run_cli(
        "--home", str(server.home), "sql",
        "SELECT drs_id FROM files WHERE drs_host IS NULL AND name = 'notes.txt'", "--csv",
    )  # fmt: skip
    return found.stdout.strip().splitlines()[-1]


def test_resolve_link_names_the_files_own_drs_server(
    lies_commons: ServerProcess, new_page: Any
) -> None:
    page = new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{lies_commons.url}/file/{CRDC_ID}")
    link = page.get_by_test_id("resolve").locator("a")
    expected = f"https://nci-crdc.datacommons.io/ga4gh/drs/v1/objects/{CRDC_ID}"
    assert link.get_attribute("href") == expected
    assert "nci-crdc.datacommons.io" in page.get_by_test_id("resolve").inner_text()
    assert page.get_by_test_id("drs-uri").inner_text() == f"drs://nci-crdc.datacommons.io/{CRDC_ID}"
    screenshot(page, ARTIFACTS, "lies-01-crdc-file")

    local = _local_id(lies_commons)
    page.goto(f"{lies_commons.url}/file/{quote(local, safe='/')}")
    href = page.get_by_test_id("resolve").locator("a").get_attribute("href")
    assert href == f"{lies_commons.url}/ga4gh/drs/v1/objects/{local}"
    assert "this commons" in page.get_by_test_id("resolve").inner_text()
    obj = httpx.get(href, timeout=10).json()  # this one is ours: it answers
    assert obj["id"] == local and obj["self_uri"] == f"drs://127.0.0.1:{lies_commons.port}/{local}"
    # Showing a CRDC file must not make the browser talk to CRDC (or anyone else).
    assert requested and all(
        u.startswith(lies_commons.url) or u.startswith("data:") for u in requested
    ), requested


def _fits(page: Any, width: int) -> None:
    """Every Files column is on screen and nothing scrolls sideways."""
    page.locator("#results-table tbody tr td").first.wait_for()
    access = page.locator('#results-table th[data-key="access"]').bounding_box()
    assert access is not None and access["x"] + access["width"] <= width, access
    wrap = page.evaluate(
        "(() => { const w = document.querySelector('#table-panel .table-wrap');"
        " return [w.scrollWidth, w.clientWidth, document.documentElement.scrollWidth]; })()"
    )
    assert wrap[0] <= wrap[1] + 1 and wrap[2] <= width, wrap
    for cell in page.locator('#results-table td[data-col="access"] .tag').all():
        box = cell.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width


def test_files_table_fits_a_1366_screen(
    lies_commons: ServerProcess, demo_server: ServerProcess, new_page: Any
) -> None:
    page = new_page(1366, 768)
    page.goto(f"{demo_server.url}/explore?sort=name&order=desc")
    _fits(page, 1366)
    screenshot(page, ARTIFACTS, "lies-02-files-1366-demo")
    page.goto(f"{lies_commons.url}/explore")
    _fits(page, 1366)
    long_cell = page.locator("#results-table tbody tr", has_text="HTA13_1_1_multiplexed")
    assert long_cell.count() == 1  # the long name wraps inside its cell
    screenshot(page, ARTIFACTS, "lies-03-files-1366-long-names")


@pytest.mark.parametrize("path", ["/", "/explore", "/cart", "FILE"])
def test_header_works_on_a_phone(demo_server: ServerProcess, new_page: Any, path: str) -> None:
    page = new_page(390, 844)
    if path == "FILE":
        first = run_cli(
            "--home", str(demo_server.home), "sql",
            "SELECT drs_id FROM files WHERE name LIKE '%.ome.tif' ORDER BY drs_id LIMIT 1", "--csv",
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        path = "/file/" + quote(first, safe="/")
    page.goto(demo_server.url + path)
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width} px wide on a 390 px phone"
    for name in ("Home", "Explore Data", "DRS API", "Cart"):
        link = page.get_by_role("navigation", name="Main").get_by_role("link", name=name)
        box = link.bounding_box()
        assert link.is_visible() and box is not None, name
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
    brand = page.locator(".brand").bounding_box()
    assert brand is not None and brand["x"] + brand["width"] <= 390
    slug = path.strip("/").split("/")[0] or "home"
    screenshot(page, ARTIFACTS, f"lies-04-phone-{slug}")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Explore Data").click()
    page.wait_for_url("**/explore")


def test_missing_pages_are_pages_for_browsers_json_for_clients(
    lies_commons: ServerProcess, new_page: Any
) -> None:
    page = new_page()
    response = page.goto(f"{lies_commons.url}/no/such/page")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert page.locator(".site-header").is_visible()
    screenshot(page, ARTIFACTS, "lies-05-missing-page")
    # Clients that ask for JSON, or anything (curl, fetch, SDKs), keep the API's error body.
    for accept in ("*/*", "application/json", "application/json, text/html;q=0.5"):
        api = httpx.get(f"{lies_commons.url}/no/such/page", headers={"Accept": accept})
        assert api.status_code == 404 and api.json() == {
            "msg": "no such endpoint",
            "status_code": 404,
        }, accept
    # A DRS answer stays a DRS answer, even to a browser.
    drs = httpx.get(
        f"{lies_commons.url}/ga4gh/drs/v1/objects/dg.HCDS/none",
        headers={"Accept": BROWSER_ACCEPT},
    )
    assert drs.status_code == 404 and drs.headers["content-type"] == "application/json"


def test_workspace_pages_share_the_portal_look(lies_commons: ServerProcess, new_page: Any) -> None:
    page = new_page()
    styles = (
        "(() => { const h = getComputedStyle(document.querySelector('.site-header'));"
        " const b = getComputedStyle(document.body);"
        " return [h.backgroundImage, b.fontFamily, b.backgroundColor]; })()"
    )
    page.goto(lies_commons.url + "/explore")
    portal = page.evaluate(styles)
    for path in ("/workspace/import", "/workspace/projects", "/workspace/nothing-here"):
        page.goto(lies_commons.url + path)
        sheet = page.locator('link[rel="stylesheet"]').first.get_attribute("href")
        assert sheet is not None and sheet.startswith("/portal/static/portal.css"), path
        assert page.evaluate(styles) == portal, path
    page.goto(lies_commons.url + "/workspace/import")
    screenshot(page, ARTIFACTS, "lies-06-workspace-signin")


def test_standalone_workspace_serves_the_look_and_html_404(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from htan_cds.config import DataHome
    from htan_cds.workspace.app import create_workspace_app

    app = create_workspace_app(DataHome.open(tmp_path / "ws"))
    with TestClient(app) as client:
        signin = client.get("/workspace/import", headers={"Accept": BROWSER_ACCEPT})
        assert signin.status_code == 200 and "/portal/static/portal.css" in signin.text
        css_path = signin.text.split('href="', 2)[1].split('"', 1)[0]
        assert client.get(css_path).status_code == 200
        missing = client.get("/nope", headers={"Accept": BROWSER_ACCEPT})
        assert missing.status_code == 404 and "site-header" in missing.text
        assert client.get("/nope").json() == {"detail": "Not Found"}


# -- forgiving filters and marker search, seen from the portal ---------------------------------


def _count(home: Path, sql: str) -> int:
    import json

    result = run_cli("--home", str(home), "sql", sql, "--json")
    assert result.returncode == 0, result.stderr
    return int(json.loads(result.stdout)["rows"][0]["n"])


def test_explorer_forgives_and_finds_markers(demo_server: ServerProcess, new_page: Any) -> None:
    from playwright.sync_api import expect

    home = demo_server.home
    page = new_page(1366, 900)
    he = _count(home, "SELECT count(*) AS n FROM files WHERE assay = 'H&E'")
    page.goto(f"{demo_server.url}/explore?assay=he")
    expect(page.get_by_test_id("summary-files")).to_have_text(f"{he:,}")
    expect(page.locator('[data-facet="assay"] input[value="H&E"]')).to_be_checked()
    expect(page.get_by_test_id("unmatched")).to_be_hidden()

    # A value nothing matches: the notice names it and offers the closest values.
    page.goto(f"{demo_server.url}/explore?assay=cycf")
    notice = page.get_by_test_id("unmatched")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("No assay matches “cycf”")
    screenshot(page, ARTIFACTS, "lies-07-unmatched")
    notice.get_by_role("button", name="CyCIF", exact=True).click()
    cycif = _count(home, "SELECT count(*) AS n FROM files WHERE assay = 'CyCIF'")
    expect(page.get_by_test_id("summary-files")).to_have_text(f"{cycif:,}")
    assert "assay=CyCIF" in page.url

    # The search box finds images by the markers of their channels.
    cd8 = _count(
        home,
        "SELECT count(DISTINCT drs_id) AS n FROM channels "
        "WHERE regexp_full_match(upper(Channel_Name), 'CD8[A-Z]?') "
        "OR regexp_full_match(upper(Target), 'CD8[A-Z]?')",
    )
    assert cd8 > 0
    page.goto(f"{demo_server.url}/explore")
    page.get_by_label("Search files by name, HTAN ID, participant or channel marker").fill("cd8")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("summary-files")).to_have_text(f"{cd8:,}")
    rows = page.locator("#results-table tbody tr")
    expect(rows).to_have_count(min(cd8, 25))
    for fmt in page.locator('#results-table td[data-col="File_Format"]').all_inner_texts():
        assert fmt == "OME-TIFF"
    screenshot(page, ARTIFACTS, "lies-08-marker-search")
