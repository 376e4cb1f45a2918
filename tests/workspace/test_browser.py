"""The manual's whole path in a real Chromium, between two htan-cds servers on loopback.

Commons portal -> filter -> Add All Files -> cart -> "Export to Cancer Genomics Cloud" -> the
workspace's confirm page (sign in, new project, tags, naming conflict) -> import progress ->
files listed in the project, with bytes equal to the commons'. Screenshots go to
``test-artifacts/workspace/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests._browser import launch_chromium, screenshot
from tests.workspace.conftest import Pair

pytestmark = [pytest.mark.browser, pytest.mark.network, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "workspace"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


def _shot(page: Any, name: str) -> None:
    screenshot(page, ARTIFACTS, name)


def _small_open_selection(pair: Pair) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Facet values that select a handful of small open-access files, and those files."""
    from htan_cds.catalog import Catalog
    from htan_cds.config import DataHome

    with Catalog.open(DataHome.open(pair.commons.home), read_only=True) as catalog:
        pick = catalog.sql(
            "SELECT atlas_name, assay, File_Format, count(*) AS n FROM files "
            "WHERE access = 'open' GROUP BY ALL "
            "HAVING n BETWEEN 2 AND 6 AND bool_and(access = 'open') AND sum(size) < 20000000 "
            "ORDER BY n DESC, atlas_name, assay, File_Format LIMIT 1"
        ).to_dict("records")[0]
        filters = {
            "atlas": pick["atlas_name"],
            "assay": pick["assay"],
            "format": pick["File_Format"],
            "access": "open",
        }
        files = catalog.sql(
            "SELECT name, size, sha256 FROM files WHERE access = 'open' AND atlas_name = "
            f"'{pick['atlas_name']}' AND assay = '{pick['assay']}' AND File_Format = "
            f"'{pick['File_Format']}'"
        ).to_dict("records")
    return filters, files


def test_portal_export_into_workspace(browser: Any, pair: Pair) -> None:
    from playwright.sync_api import expect

    filters, files = _small_open_selection(pair)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # Commons portal: a filtered view, then Add All Files.
        page.goto(f"{pair.commons.url}/explore?{urlencode(filters)}")
        expect(page.get_by_test_id("summary-files")).to_have_text(str(len(files)))
        page.get_by_test_id("add-all-files").click()
        expect(page.get_by_test_id("cart-count")).to_have_text(str(len(files)))
        _shot(page, "01-explorer")
        page.get_by_role("link", name="Cart").click()
        page.wait_for_url(re.compile(r"/cart$"))
        expect(page.get_by_test_id("cart-files")).to_have_text(str(len(files)))
        _shot(page, "02-cart")

        # Export to CGC: the browser lands on the workspace's confirm page.
        page.get_by_test_id("export-cgc").click()
        page.wait_for_url(re.compile(r"/import-redirect/drs/csv\?URL="))
        assert page.url.startswith(pair.workspace.server.url)
        # Sign in first (the workspace fetches manifests only for signed-in users).
        expect(page.get_by_role("heading", name="Sign in to import")).to_be_visible()
        _shot(page, "03-signin")
        page.get_by_label("Workspace token").fill(pair.workspace.token)
        page.get_by_label("Workspace token").press("Enter")
        expect(page.locator("#file-count")).to_have_text(str(len(files)))
        _shot(page, "04-confirm")

        # The form is labelled and keyboard-usable: fill it through its labels, submit by Enter.
        page.get_by_label("New project name").fill("Portal Export")
        page.get_by_label("Tags for the imported files").fill("htan, from-portal")
        page.get_by_label(re.compile("Keep both")).check()
        page.get_by_label("Tags for the imported files").press("Enter")

        # Progress page, refreshing itself until the import has finished.
        page.wait_for_url(re.compile(r"/import-redirect/jobs/"))
        expect(page.locator("#job-state")).to_have_text("FINISHED", timeout=60_000)
        expect(page.locator("#results .ok")).to_have_count(len(files))
        _shot(page, "05-finished")

        # The project lists the files.
        page.get_by_role("link", name="alice/portal-export").click()
        page.wait_for_url(re.compile(r"/workspace/projects/alice/portal-export$"))
        names = sorted(page.locator(".file-name").all_inner_texts())
        assert names == sorted(str(f["name"]) for f in files)
        _shot(page, "06-project")
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"

    # The imported bytes are the commons' bytes.
    import sevenbridges as sbg

    api = sbg.Api(url=pair.workspace.api_url, token=pair.workspace.token, debug=True)
    by_name = {f["name"]: f for f in files}
    for record in api.files.query(project="alice/portal-export").all():
        assert record.size == by_name[record.name]["size"]
        assert record.tags == ["htan", "from-portal"]
    from htan_cds.config import DataHome
    from htan_cds.workspace.store import WorkspaceStore

    store = WorkspaceStore.open(DataHome.open(pair.workspace.home))
    try:
        got = {f.name: f.sha256 for f in store.list_files("alice/portal-export")[0]}
    finally:
        store.close()
    assert got == {f["name"]: f["sha256"] for f in files}
