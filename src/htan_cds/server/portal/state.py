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

DEFAULT_EXPORT_TTL = 600
# Long enough to keep DuckDB's caches warm through a user's clicking, short enough for a writer.
DEFAULT_IDLE_SECONDS = 5.0


class CatalogLease:
    """The catalog, open only while the portal is busy.

    DuckDB lets a writer in only when no process holds the file, and the commons is meant to
    take ``htan-cds ingest`` while it serves (the DRS snapshot reloads on change). So the portal
    keeps one read-only connection while requests come in — its caches are what make a query
    on a million files fast — and closes it after ``idle_seconds`` without a request. The next
    request opens it again and so also sees what a writer added meanwhile.
    """

    def __init__(self, home: DataHome, idle_seconds: float = DEFAULT_IDLE_SECONDS) -> None:
        self.home = home
        self.idle_seconds = idle_seconds
        self._catalog: Catalog | None = None
        self._users = 0
        self._last_used = 0.0
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._memo: dict[str, Any] = {}
        self._stamp: tuple[float, int] | None = None

    @contextmanager
    def use(self) -> Iterator[Catalog]:
        """The open catalog for the duration of the block."""
        with self._lock:
            if self._catalog is None:
                self._catalog = Catalog.open(self.home, read_only=True)
                stamp = self._file_stamp()
                if stamp != self._stamp:
                    # A writer changed the catalog while it was closed: forget derived answers.
                    self._memo.clear()
                    self._stamp = stamp
            self._users += 1
            catalog = self._catalog
        try:
            yield catalog
        finally:
            with self._lock:
                self._users -= 1
                self._last_used = time.monotonic()
                if self._timer is None and self.idle_seconds >= 0:
                    self._schedule(self.idle_seconds)

    def remember(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, kept until the catalog file changes (for answers costly on 1M files)."""
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._lock:
            self._memo[key] = value
        return value

    def _file_stamp(self) -> tuple[float, int] | None:
        try:
            st = self.home.catalog_path.stat()
        except OSError:
            return None
        return (st.st_mtime, st.st_size)

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
            if self._users == 0 and idle >= self.idle_seconds:
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
