"""Issue 11.2–11.4 and 11.8 on the workspace, replayed against real servers on loopback.

- a second workspace user whose grants do not open a controlled object cannot get it into a
  project through the workspace's own source token (11.2);
- the source token goes only to its configured host, even when a user names another (11.1);
- internal hosts a user names are refused by the guard without a connection (11.3);
- a hanging source host does not stall another user's job, and its item ends in time (11.4);
- file names from users and DRS servers are made safe (11.8).

The commons is a copy of the demo commons; hostile servers listen on 127.0.0.2.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests._servers import ServerProcess, free_port, start_server
from tests.security.hostile import Hostile
from tests.workspace.conftest import clone_commons, make_token

pytestmark = pytest.mark.network


@dataclass
class Setup:
    commons: ServerProcess
    workspace: ServerProcess
    commons_token: str
    group: str
    controlled_uri: str
    open_uri: str
    hostile: Hostile
    hang: Hostile


def _controlled_and_open(home: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    from htan_cds.catalog import Catalog, FileFilter
    from htan_cds.config import DataHome

    with Catalog.open(DataHome.open(home), read_only=True) as catalog:
        controlled = catalog.find(FileFilter(access=["controlled"]), sort="size", limit=1)
        opened = catalog.find(FileFilter(access=["open"]), sort="size", limit=1)
    return controlled.iloc[0].to_dict(), opened.iloc[0].to_dict()


@pytest.fixture(scope="module")
def setup(demo_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    from htan_cds.config import DataHome
    from htan_cds.server.tokens import TokenStore

    root = tmp_path_factory.mktemp("sec-ws")
    port = free_port()
    commons_home = clone_commons(demo_home, root / "commons", port)
    controlled, opened = _controlled_and_open(commons_home)
    group = str(controlled["consent_group"])
    commons_token = TokenStore(DataHome.open(commons_home)).create([group], label="workspace")
    ws_home = root / "ws"
    ws_home.mkdir()
    with Hostile() as hostile, Hostile(mode="hang") as hang:
        (ws_home / "config.toml").write_text(
            "[workspace]\n"
            f'allow_hosts = ["127.0.0.1:{port}", "127.0.0.2"]\n'
            "item_timeout = 4.0\nrequest_timeout = 2.0\njob_concurrency = 4\n\n"
            "[[workspace.sources]]\n"
            f'url = "http://127.0.0.1:{port}"\n'
            f'token = "{commons_token}"\n'
            f'grants = ["{group}"]\n'
        )
        with (
            start_server(commons_home, port=port) as commons,
            start_server(ws_home, "--workspace", ready_path="/v2/user") as workspace,
        ):
            yield Setup(
                commons=commons,
                workspace=workspace,
                commons_token=commons_token,
                group=group,
                controlled_uri=f"drs://127.0.0.1:{port}/{controlled['drs_id']}",
                open_uri=f"drs://127.0.0.1:{port}/{opened['drs_id']}",
                hostile=hostile,
                hang=hang,
            )


def _api(setup: Setup, token: str) -> Any:
    import sevenbridges as sbg

    return sbg.Api(url=setup.workspace.url + "/v2", token=token, debug=True)


def _submit(api: Any, name: str, items: list[dict[str, Any]]) -> Any:
    project = api.projects.create(name=name)
    return api.drs_imports.bulk_submit([{**i, "project": project.id} for i in items])


def _wait(api: Any, job: Any, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while (job := api.drs_imports.bulk_get(job.id)).state != "FINISHED":
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.2)
    return job


def test_a_user_without_the_grant_gets_no_controlled_object(setup: Setup) -> None:
    ws_home = setup.workspace.home
    mallory = _api(setup, make_token(ws_home, label="mallory"))  # grant "open" only
    carol = _api(setup, _grant_token(ws_home, "carol", [setup.group]))
    refused = _wait(mallory, _submit(mallory, "M", [{"drs_uri": setup.controlled_uri}]))
    assert refused.result[0].error is not None
    assert refused.result[0].error.status in (401, 403)
    # Open data stays open to everyone through the workspace.
    opened = _wait(mallory, _submit(mallory, "M2", [{"drs_uri": setup.open_uri}]))
    assert opened.result[0].resource is not None, str(opened.result[0].error)
    # The user who holds the consent group gets it, with the workspace's source token.
    allowed = _wait(carol, _submit(carol, "C", [{"drs_uri": setup.controlled_uri}]))
    assert allowed.result[0].resource is not None, str(allowed.result[0].error)


def _grant_token(home: Path, label: str, grants: list[str]) -> str:
    from htan_cds.config import DataHome
    from htan_cds.server.tokens import TokenStore

    return TokenStore(DataHome.open(home)).create(grants, label=label)


def test_the_source_token_never_reaches_a_host_a_user_names(setup: Setup) -> None:
    carol = _api(setup, _grant_token(setup.workspace.home, "carol2", [setup.group]))
    job = _wait(carol, _submit(carol, "H", [{"drs_uri": setup.hostile.uri()}]))
    assert setup.hostile.seen, "the allowed hostile host was not asked at all"
    assert setup.hostile.leaked(setup.commons_token) == []
    assert job.state == "FINISHED"


def test_internal_hosts_a_user_names_are_refused_without_a_connection(
    setup: Setup, tmp_path: Path
) -> None:
    # A loopback port the operator did not allow: it records, and must see nothing.
    with Hostile(host="127.0.0.1") as internal:
        api = _api(setup, make_token(setup.workspace.home, label="eve"))
        job = _wait(api, _submit(api, "S", [{"drs_uri": internal.uri()}]))
        error = job.result[0].error
        assert error is not None and "refused" in error.message, error
        assert internal.seen == []


def test_a_hanging_host_does_not_stall_another_users_job(setup: Setup) -> None:
    slow = _api(setup, make_token(setup.workspace.home, label="slowpoke"))
    quick = _api(setup, make_token(setup.workspace.home, label="quick"))
    stuck = _submit(slow, "Slow", [{"drs_uri": setup.hang.uri()}])
    time.sleep(0.5)  # the hanging job starts first
    started = time.monotonic()
    done = _wait(quick, _submit(quick, "Quick", [{"drs_uri": setup.open_uri}]), timeout=60)
    assert done.result[0].resource is not None, str(done.result[0].error)
    assert slow.drs_imports.bulk_get(stuck.id).state != "FINISHED", "the hang did not hang"
    assert time.monotonic() - started < 30
    # The hanging item ends by its deadline (item 4 s + 4 x request 2 s), with a reason.
    finished = _wait(slow, stuck, timeout=60)
    error = finished.result[0].error
    assert error is not None and error.status in (502, 504), error


def test_unsafe_names_are_made_safe(setup: Setup) -> None:
    api = _api(setup, make_token(setup.workspace.home, label="namer"))
    names = ["..", "a\\b.bin", "x\x00y.bin", "line\r\nbreak.bin", "evil\u202etxt.exe"]
    job = _wait(api, _submit(api, "Names", [{"drs_uri": setup.open_uri, "name": n} for n in names]))
    got = [r.resource.name for r in job.result if r.resource is not None]
    assert len(got) == len(names), [str(r.error) for r in job.result]
    from htan_cds.manifest.names import is_safe_file_name

    assert all(is_safe_file_name(n) for n in got), got
    assert "a_b.bin" in got and "linebreak.bin" in got


def test_login_csrf_is_refused(setup: Setup) -> None:
    """Another site must not sign a browser into the attacker's account (issue 11.8)."""
    import httpx

    attacker = make_token(setup.workspace.home, label="attacker")
    url = f"{setup.commons.url}/manifest.csv"
    html = {"Accept": "text/html"}
    with httpx.Client(base_url=setup.workspace.url, timeout=30) as browser:
        # A form posted from another site: no pre-session cookie, no CSRF value.
        forged = browser.post("/import-redirect/signin", data={"token": attacker, "URL": url})
        assert forged.status_code == 403 and "hcds_ws_token" not in forged.headers.get(
            "set-cookie", ""
        )
        page = browser.get("/import-redirect/drs/csv", params={"URL": url}, headers=html)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert page.status_code == 200 and csrf is not None
        form = {"token": attacker, "URL": url, "csrf": csrf.group(1)}
        # Even with the cookie and value, a cross-site Origin is refused.
        cross = browser.post(
            "/import-redirect/signin", data=form, headers={"Origin": "https://evil.example"}
        )
        assert cross.status_code == 403
        assert "hcds_ws_token" not in cross.headers.get("set-cookie", "")
        fresh = re.search(r'name="csrf" value="([^"]+)"', cross.text)
        assert fresh is not None
        ok = browser.post("/import-redirect/signin", data={**form, "csrf": fresh.group(1)})
        assert ok.status_code == 303 and "hcds_ws_token" in ok.headers.get("set-cookie", "")


def test_errors_never_echo_what_the_url_answered(setup: Setup) -> None:
    import httpx

    token = make_token(setup.workspace.home, label="peeker")
    url = setup.hostile.url + "/page"
    for accept in ("application/json", "text/html"):
        answer = httpx.get(
            setup.workspace.url + "/import-redirect/drs/csv",
            params={"URL": url},
            headers={"X-SBG-Auth-Token": token, "Accept": accept},
            timeout=30,
        )
        assert answer.status_code == 400, answer.text
        assert "SECRET" not in answer.text and "internal" not in answer.text
