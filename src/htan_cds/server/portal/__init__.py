"""The web portal: landing page, Data Explorer, cart and exports, served inside the commons.

Mounted by the server through ``htan_cds.server.extensions.MOUNTS``
(``"htan_cds.server.portal:mount"``).
Pages live at ``/``, ``/explore``, ``/cart``, ``/file/<drs id>``, ``/signin``; the JSON API under
``/api``;
static files under ``/portal/static``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from htan_cds.server.portal.state import CatalogLease, PortalState


def mount(app: FastAPI, config: Any) -> None:
    """Add the portal's pages, API and static files to ``app`` (a ``create_app`` extension)."""
    from htan_cds.server.portal import api, export, pages

    app.state.portal = PortalState(config=config, lease=CatalogLease(config.home))
    app.state.not_found_page = pages.missing_page
    app.include_router(api.router)
    app.include_router(export.router)
    app.include_router(pages.router)
    app.mount(pages.STATIC_PREFIX, StaticFiles(directory=pages.STATIC_DIR), name="portal-static")


__all__ = ["PortalState", "mount"]
