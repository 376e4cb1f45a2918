"""Unit tests: the store's rules, the sliding-window limiter, the manifest parser and URL guard."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from htan_cds.config import DataHome
from htan_cds.storage.base import StoredObject
from htan_cds.workspace import sb_errors
from htan_cds.workspace.api import parse_import_items
from htan_cds.workspace.auth import User
from htan_cds.workspace.context import WorkspaceContext
from htan_cds.workspace.manifest_fetch import check_url, fetch_manifest_text, parse_manifest
from htan_cds.workspace.ratelimit import SlidingWindow, delay_for
from htan_cds.workspace.settings import WorkspaceSettings
from htan_cds.workspace.store import WorkspaceStore, renamed, slugify
from tests._servers import serve_in_thread


@pytest.fixture
def store(tmp_path: Path) -> WorkspaceStore:
    s = WorkspaceStore(tmp_path / "ws")
    s.create_project("alice", "Main Project")
    return s


def _put(store: WorkspaceStore, data: bytes) -> StoredObject:
    return store.objects.put_stream(io.BytesIO(data))


def test_slug_and_rename() -> None:
    assert slugify("My  Project: HTAN/2024") == "my-project-htan-2024"
    assert renamed("a.tif", 2) == "_2_a.tif"


def test_project_rules(store: WorkspaceStore) -> None:
    with pytest.raises(sb_errors.SbApiError) as exists:
        store.create_project("alice", "main project")
    assert (exists.value.status, exists.value.code) == (409, 3003)
    with pytest.raises(sb_errors.SbApiError) as empty:
        store.create_project("alice", "  ")
    assert empty.value.code == 3007
    store.create_project("bob", "Main Project")
    projects, total = store.list_projects(owner="alice")
    assert total == 1 and projects[0].id == "alice/main-project"
    assert store.project_of_folder(projects[0].root_folder) == "alice/main-project"


def test_conflict_policies(store: WorkspaceStore) -> None:
    pid = "alice/main-project"
    first = store.add_file(
        pid, "a.bin", _put(store, b"1"), metadata={}, tags=[], source_drs_uri=None
    )
    with pytest.raises(sb_errors.SbApiError) as skip:
        store.add_file(pid, "a.bin", _put(store, b"2"), metadata={}, tags=[], source_drs_uri=None)
    assert (skip.value.status, skip.value.code) == (409, 5003)
    r1 = store.add_file(
        pid,
        "a.bin",
        _put(store, b"3"),
        metadata={},
        tags=[],
        source_drs_uri=None,
        conflict="RENAME",
    )
    r2 = store.add_file(
        pid,
        "a.bin",
        _put(store, b"4"),
        metadata={},
        tags=[],
        source_drs_uri=None,
        conflict="RENAME",
    )
    assert (r1.name, r2.name) == ("_1_a.bin", "_2_a.bin")
    over = store.add_file(
        pid,
        "a.bin",
        _put(store, b"55"),
        metadata={"k": "v"},
        tags=["t"],
        source_drs_uri="drs://h/x",
        conflict="OVERWRITE",
    )
    assert over.id == first.id and over.size == 2 and over.metadata == {"k": "v"}
    files, total = store.list_files(pid, limit=2)
    assert total == 3 and len(files) == 2
    assert [f.name for f in store.list_files(pid, tags=["t"])[0]] == ["a.bin"]
    assert [f.name for f in store.list_files(pid, metadata={"k": "v"})[0]] == ["a.bin"]


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@settings(max_examples=150, deadline=None)
@given(
    limit=st.integers(1, 50),
    window=st.floats(0.5, 20),
    batches=st.lists(st.integers(1, 50), min_size=1, max_size=40),
    gaps=st.lists(st.floats(0, 5), min_size=40, max_size=40),
)
def test_sliding_window_never_exceeds_limit(
    limit: int, window: float, batches: list[int], gaps: list[float]
) -> None:
    clock = _Clock()
    limiter = SlidingWindow(limit, window, clock=clock, sleep=clock.sleep)
    admitted: list[tuple[float, int]] = []
    for n, gap in zip(batches, gaps, strict=False):
        n = min(n, limit)
        clock.now += gap
        limiter.acquire(n)
        admitted.append((clock.now, n))
    for t, _ in admitted:
        assert sum(k for at, k in admitted if t - window < at <= t) <= limit


@given(
    events=st.lists(st.tuples(st.floats(0, 100), st.integers(1, 100)), max_size=20),
    n=st.integers(1, 100),
)
def test_delay_for_frees_enough(events: list[tuple[float, int]], n: int) -> None:
    now, limit, window = 100.0, 100, 30.0
    wait = delay_for(events, n, limit, window, now)
    later = now + wait
    assert sum(k for at, k in events if at > later - window) + n <= limit or wait == window


def test_sliding_window_rejects_oversized() -> None:
    with pytest.raises(ValueError):
        SlidingWindow(5, 1).delay_for(6)


_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=',"\r\n\t'),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_NAMES, st.uuids()), min_size=1, max_size=30))
def test_parse_cgc_manifest(rows: list[tuple[str, object]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["name", "drs_uri"])
    for name, uid in rows:
        writer.writerow([name, f"drs://nci-crdc.datacommons.io/dg.4DFC/{uid}"])
    parsed = parse_manifest(buf.getvalue(), WorkspaceSettings())
    assert [(r.name, r.drs_uri) for r in parsed] == [
        (name, f"drs://nci-crdc.datacommons.io/dg.4DFC/{uid}") for name, uid in rows
    ]
    assert all(r.error is None for r in parsed)


def test_parse_manifest_flags_bad_rows() -> None:
    text = "name,drs_uri\na,drs://h.example.org/x\nb,not-a-uri\n"
    rows = parse_manifest(text, WorkspaceSettings())
    assert rows[0].error is None and rows[1].error
    with pytest.raises(sb_errors.SbApiError) as none:
        parse_manifest("name,drs_uri\nb,nope\n", WorkspaceSettings())
    assert none.value.code == 9202


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "http:///nohost",
        "http://169.254.169.254/latest",
        "http://[fe80::1]/x",
        "http://0.0.0.0/x",
        "http://224.0.0.1/x",
        "http://u:p@127.0.0.1/x",
        "http://127.0.0.1:99999/x",
    ],
)
def test_check_url_refuses(url: str) -> None:
    with pytest.raises(sb_errors.SbApiError) as exc:
        check_url(url, WorkspaceSettings())
    assert exc.value.status == 400


def test_check_url_loopback_needs_the_operator() -> None:
    with pytest.raises(sb_errors.SbApiError):
        check_url("http://127.0.0.1:8000/m.csv", WorkspaceSettings())
    check_url("http://127.0.0.1:8000/m.csv", WorkspaceSettings(allow_hosts=("127.0.0.1:8000",)))


class _Awkward(BaseHTTPRequestHandler):
    """Loopback server for fetch limits: big bodies, dripping bodies, redirects."""

    def do_GET(self) -> None:
        if self.path == "/big.csv":
            body = b"name,drs_uri\n" + b"x,drs://h.example.org/x\n" * 100_000
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/drip.csv":
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(20):
                    self.wfile.write(b"name,drs_uri\n")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                return
        else:
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/")
            self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def awkward() -> Iterator[str]:
    with serve_in_thread(_Awkward) as url:
        yield url


def test_fetch_limits(awkward: str) -> None:
    tight = WorkspaceSettings(
        manifest_max_bytes=1_000_000, manifest_timeout=1.0, allow_hosts=("127.0.0.1",)
    )
    with pytest.raises(sb_errors.SbApiError) as big:
        fetch_manifest_text(awkward + "/big.csv", tight)
    assert (big.value.status, big.value.code) == (413, 9202)
    started = time.monotonic()
    with pytest.raises(sb_errors.SbApiError) as drip:
        fetch_manifest_text(awkward + "/drip.csv", tight)
    assert (drip.value.status, drip.value.code) == (504, 9201)
    assert time.monotonic() - started < 3
    # The redirect to the metadata address is refused by the guard before any connection.
    with pytest.raises(sb_errors.SbApiError) as moved:
        fetch_manifest_text(awkward + "/moved.csv", tight)
    assert (moved.value.status, moved.value.code) == (400, 9203)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_ITEM = st.fixed_dictionaries(
    {},
    optional={
        "drs_uri": st.sampled_from(["drs://h.example.org/x", "dg.4DFC/abc", "nope", ""]) | _JSON,
        "project": st.sampled_from(["alice/main-project", "alice/none", "bob/x", "bad"]) | _JSON,
        "parent": _JSON,
        "name": st.sampled_from(["a.tif", "a/b", " "]) | _JSON,
        "metadata": _JSON,
    },
)


@pytest.fixture(scope="module")
def parser_ctx(tmp_path_factory: pytest.TempPathFactory) -> WorkspaceContext:
    """A workspace (runner not started) with alice's and bob's projects."""
    ctx = WorkspaceContext.open(DataHome.open(tmp_path_factory.mktemp("ws-parse")))
    ctx.store.create_project("alice", "Main Project")
    ctx.store.create_project("bob", "X")
    return ctx


@settings(max_examples=200, deadline=None)
@given(raw=st.lists(_ITEM, max_size=3) | _JSON)
def test_bulk_import_items_parser_only_raises_sb_errors(
    parser_ctx: WorkspaceContext, raw: object
) -> None:
    try:
        items = parse_import_items(parser_ctx, User(username="alice", token_id="t"), raw)
    except sb_errors.SbApiError as exc:
        assert exc.status in (400, 403, 404)
        assert set(exc.body()) == {"status", "code", "message", "more_info"}
        return
    assert items and all(i.project == "alice/main-project" for i in items)
    assert all(i.drs_uri.startswith("drs://") for i in items)
