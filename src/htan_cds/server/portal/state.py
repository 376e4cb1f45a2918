"""What every portal route needs: the server config, the catalog, and routes that answer errors."""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import ORJSONResponse
from fastapi.routing import APIRoute
from starlette.responses import Response

from htan_cds.catalog import Catalog
from htan_cds.errors import CatalogError, HtanCdsError, UsageError

DEFAULT_EXPORT_TTL = 600


@dataclass
class PortalState:
    """Shared by the portal's routes; kept on ``app.state.portal``."""

    config: Any  # htan_cds.server.ServerConfig (Any: avoids importing the app at mount time)
    _catalog: Catalog | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def export_ttl(self) -> int:
        """Lifetime of a signed export URL (``ServerConfig.export_ttl``, default 600 s)."""
        return int(getattr(self.config, "export_ttl", DEFAULT_EXPORT_TTL) or DEFAULT_EXPORT_TTL)

    @property
    def export_target(self) -> str:
        """Where "Export to CGC" sends the browser (``ServerConfig.export_target``)."""
        return str(self.config.export_target)

    def catalog(self, app_state: Any = None) -> Catalog:
        """The server's read-only catalog, or one the portal opens itself on first use."""
        shared = getattr(app_state, "catalog", None) if app_state is not None else None
        if isinstance(shared, Catalog):
            return shared
        with self._lock:
            if self._catalog is None:
                self._catalog = Catalog.open(self.config.home, read_only=True)
            return self._catalog


def portal_state(request: Request) -> PortalState:
    """The :class:`PortalState` of the app serving ``request``."""
    state: PortalState = request.app.state.portal
    return state


def catalog_for(request: Request) -> Catalog:
    """The catalog for this request (see :meth:`PortalState.catalog`)."""
    return portal_state(request).catalog(request.app.state)


def json_error(status: int, message: str) -> Response:
    """The same ``{msg, status_code}`` body the DRS API uses for errors."""
    return ORJSONResponse({"msg": message, "status_code": status}, status_code=status)


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
