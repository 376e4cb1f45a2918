"""Every route of the commons app, found by walking the app itself (so new routes are covered)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PARAM_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\}")


@dataclass(frozen=True)
class RouteSpec:
    """One path template with its methods."""

    path: str
    methods: frozenset[str]

    @property
    def params(self) -> list[str]:
        return _PARAM_RE.findall(self.path)

    def fill(self, values: dict[str, str]) -> str:
        """The path with each ``{name}`` replaced from ``values`` (``x`` when unknown)."""
        return _PARAM_RE.sub(lambda m: values.get(m.group(1), "x"), self.path)


def _walk(routes: list[Any], prefix: str = "") -> Iterator[RouteSpec]:
    from starlette.routing import Mount

    for route in routes:
        context = getattr(route, "include_context", None)
        if context is not None and hasattr(context, "included_router"):
            # FastAPI >= 0.16x keeps an included router as one route holding the router.
            yield from _walk(context.included_router.routes, prefix + (context.prefix or ""))
        elif isinstance(route, Mount):
            yield RouteSpec(prefix + route.path + "/{path:path}", frozenset({"GET"}))
        elif getattr(route, "methods", None):
            yield RouteSpec(prefix + route.path, frozenset(route.methods))


def app_routes(home: Path, **config: Any) -> list[RouteSpec]:
    """The routes of ``create_app(ServerConfig(home, **config))`` (the app a server runs)."""
    from htan_cds.config import DataHome
    from htan_cds.server import ServerConfig, create_app

    app = create_app(ServerConfig(home=DataHome.open(home), **config))
    specs = list(_walk(app.routes))
    # The walk must see the routers the extensions mount, or the test checks nothing.
    paths = {s.path for s in specs}
    for expected in ("/api/files", "/file/{drs_id:path}", "/ga4gh/drs/v1/objects/{object_id:path}"):
        assert expected in paths, f"route walk missed {expected}: {sorted(paths)}"
    return specs
