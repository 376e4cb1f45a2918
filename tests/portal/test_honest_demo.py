"""The portal says when its data are synthetic, and prints sizes in the CLI's units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from playwright.sync_api import expect

from htan_cds.units import format_size
from tests._browser import launch_chromium, screenshot
from tests._servers import ServerProcess
from tests.conftest import run_cli

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "portal"


def test_every_page_of_the_demo_says_synthetic_and_sizes_match_the_cli(
    demo_server: ServerProcess, demo_home: Path
) -> None:
    con = duckdb.connect(str(demo_home / "catalog.duckdb"), read_only=True)
    # An anonymous visitor's totals add the open files' bytes only (controlled files are
    # counted, their sizes need a grant: docs/security.md), so compare with the CLI's open part.
    total, drs_id = con.execute(
        "SELECT (SELECT sum(size) FROM files WHERE access = 'open'), "
        "(SELECT min(drs_id) FROM files WHERE access = 'open')"
    ).fetchone()
    con.close()
    cli = run_cli("facets", "--access", "open", home=demo_home)
    assert cli.returncode == 0, cli.stderr
    assert cli.stderr.strip().endswith(format_size(total)), cli.stderr
    with launch_chromium() as chromium:
        page: Any = chromium.new_page(viewport={"width": 1366, "height": 800})
        expect.set_options(timeout=15_000)
        for path in ("/", "/explore", "/cart", f"/file/{drs_id}"):
            page.goto(demo_server.url + path)
            banner = page.get_by_test_id("synthetic-banner")
            expect(banner).to_be_visible()
            expect(banner).to_contain_text("Synthetic data")
            expect(page.get_by_test_id("synthetic-source")).to_have_text("demo seed=0")
        page.goto(demo_server.url + "/")
        # The same bytes read the same in the CLI (facets' last line) and on the portal.
        expect(page.locator(".stat", has_text="Total size")).to_contain_text(format_size(total))
        screenshot(page, ARTIFACTS, "synthetic-banner-landing")
        page.goto(demo_server.url + "/explore")
        expect(page.locator("#summary-size")).to_have_text(format_size(total))
        screenshot(page, ARTIFACTS, "synthetic-banner-explore")
