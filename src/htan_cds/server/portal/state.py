"""What every portal route needs: the server config, the catalog, and routes that answer errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.responses import Response

from htan_cds.catalog import Catalog
from htan_cds.config import DataHome
from htan_cds.errors import CatalogError, HtanCdsError, UsageError
from htan_cds.server.access import Caller
from htan_cds.server.portal.visibility import Visibility, consent_groups, visibility_for
from htan_cds.server.session import request_caller, same_site

DEFAULT_EXPORT_TTL = 600
# Long enough to keep DuckDB's caches warm through a user's clicking, short enough for a writer.
DEFAULT_IDLE_SECONDS = 5.0
# How often a busy portal looks whether a writer published a new catalog file.
DEFAULT_CHECK_INTERVAL = 1.0


class CatalogLease:
    """The catalog, open only while the portal is busy, and swapped when a writer replaced it.

    The portal keeps one read-only connection while requests come in — its caches are what
    make a query on a million files fast — and closes it after ``idle_seconds`` without a
    request. Writers (``htan-cds ingest``, ``catalog build``) never wait for it: they publish a
    new catalog file by renaming (``htan_cds.catalog.writer``), so the open connection keeps
    reading the old, consistent file. At most every ``check_interval`` seconds a request looks
    at the file; when it was replaced, new requests get a connection to the new catalog and the
    old one is closed as soon as its last request is done.
    """

    def __init__(
        self,
        home: DataHome,
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
        check_interval: float = DEFAULT_CHECK_INTERVAL,
    ) -> None:
        self.home = home
        self.idle_seconds = idle_seconds
        self.check_interval = check_interval
        self._catalog: Catalog | None = None
        self._users: dict[int, int] = {}
        self._retired: dict[int, Catalog] = {}
        self._last_used = 0.0
        self._checked = 0.0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._memo: dict[str, Any] = {}
        self._stamp: tuple[int, int, int] | None = None

    @contextmanager
    def use(self) -> Iterator[Catalog]:
        """The open catalog for the duration of the block."""
        with self._lock:
            self._swap_if_replaced()
            if self._catalog is None:
                stamp = self._file_stamp()
                self._catalog = Catalog.open(self.home, read_only=True)
                self._checked = time.monotonic()
                if stamp != self._stamp:
                    # A writer changed the catalog while it was closed: forget derived answers.
                    self._memo.clear()
                    self._stamp = stamp
            catalog = self._catalog
            self._users[id(catalog)] = self._users.get(id(catalog), 0) + 1
        try:
            yield catalog
        finally:
            with self._lock:
                left = self._users[id(catalog)] - 1
                if left:
                    self._users[id(catalog)] = left
                else:
                    del self._users[id(catalog)]
                    retired = self._retired.pop(id(catalog), None)
                    if retired is not None:
                        retired.close()
                self._last_used = time.monotonic()
                if self._timer is None and self.idle_seconds >= 0:
                    self._schedule(self.idle_seconds)

    def _swap_if_replaced(self) -> None:
        """Retire the open connection if the catalog file was replaced (holding ``_lock``)."""
        now = time.monotonic()
        if self._catalog is None or now - self._checked < self.check_interval:
            return
        self._checked = now
        if self._file_stamp() == self._stamp:
            return
        old, self._catalog = self._catalog, None
        if self._users.get(id(old)):
            self._retired[id(old)] = old
        else:
            old.close()

    def remember(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept until the catalog file changes (for answers costly on 1M files)."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
            stamp = self._stamp
        value = compute()
        with self._lock:
            if self._stamp == stamp:  # not computed on a catalog replaced meanwhile
                self._memo[key] = value
        return value

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.home.catalog_path.stat()
        except OSError:
            return None
        # A writer renames a new file in: a new inode, whatever its mtime and size.
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _schedule(self, delay: float) -> None:
        timer = threading.Timer(delay, self._close_if_idle)
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _close_if_idle(self) -> None:
        with self._lock:
            self._timer = None
            if self._catalog is None:
                return
            idle = time.monotonic() - self._last_used
            if not self._users.get(id(self._catalog)) and idle >= self.idle_seconds:
                self._catalog.close()
                self._catalog = None
            else:
                self._schedule(max(self.idle_seconds - idle, 0.05))

    def close(self) -> None:
        """Close now (server shutdown)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._catalog is not None:
                self._catalog.close()
                self._catalog = None
            for retired in self._retired.values():
                retired.close()
            self._retired.clear()


@dataclass
class PortalState:
    """Shared by the portal's routes; kept on ``app.state.portal``."""

    config: Any  # htan_cds.server.ServerConfig (Any: avoids importing the app at mount time)
    lease: CatalogLease

    @property
    def export_ttl(self) -> int:
        """Lifetime of a signed export URL (``ServerConfig.export_ttl``, default 600 s)."""
        return int(getattr(self.config, "export_ttl", DEFAULT_EXPORT_TTL))

    @property
    def export_target(self) -> str:
        """Where "Export to CGC" sends the browser (``ServerConfig.export_target``)."""
        return str(self.config.export_target)

    @property
    def authority(self) -> str:
        """``host:port`` of this server: the authority of the DRS URIs it serves (as self_uri)."""
        return str(self.config.authority)


def portal_state(request: Request) -> PortalState:
    """The :class:`PortalState` of the app serving ``request``."""
    state: PortalState = request.app.state.portal
    return state


class CallerRefused(HtanCdsError):
    """A request presented credentials that do not verify (401), or came from another site."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def portal_caller(request: Request) -> Caller:
    """The caller of a portal request (bearer token or session); CallerRefused (401) if invalid."""
    caller = request_caller(request)
    if caller is None:
        raise CallerRefused(401, "invalid, expired or revoked credentials")
    return caller


def visibility(request: Request, catalog: Catalog) -> Visibility:
    """Which files the caller of ``request`` may see (the controlled-metadata rule)."""
    caller = portal_caller(request)
    lease = portal_state(request).lease
    groups: list[str] = lease.remember("consent_groups", lambda: consent_groups(catalog))
    return visibility_for(caller, groups)


def check_same_site(request: Request) -> None:
    """Refuse (403) a state-changing request sent from another site's page."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and not same_site(request):
        raise CallerRefused(403, "cross-site request refused: use this portal's own pages")


def use_catalog(request: Request) -> Iterator[Catalog]:
    """FastAPI dependency: the catalog, held open until the response is done."""
    with portal_state(request).lease.use() as catalog:
        yield catalog


class FastJSONResponse(JSONResponse):
    """JSON rendered by orjson (numpy-free rows of a page serialise several times faster)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def json_error(status: int, message: str) -> Response:
    """The same ``{msg, status_code}`` body the DRS API uses for errors."""
    return FastJSONResponse({"msg": message, "status_code": status}, status_code=status)


class PortalRoute(APIRoute):
    """An API route that turns htan-cds errors into one-line JSON errors instead of a 500."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                check_same_site(request)
                return await handler(request)
            except UsageError as exc:
                return json_error(400, str(exc))
            except CatalogError as exc:
                return json_error(503, str(exc))
            except HtanCdsError as exc:
                status = getattr(exc, "status_code", None)
                if isinstance(status, int) and 400 <= status < 600:
                    return json_error(status, str(exc))
                return json_error(500, str(exc))

        return guarded
