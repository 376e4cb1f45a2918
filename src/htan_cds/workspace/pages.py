"""The workspace's HTML pages share the portal's look: its stylesheet, header and footer.

One Jinja environment for every workspace page (import-redirect, ``/workspace/import``, jobs,
projects, errors). Assets come from the portal's static folder (``/portal/static``), which the
commons mounts with its portal and the stand-alone workspace mounts itself (:func:`mount_static`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse

from htan_cds import __version__
from htan_cds.units import format_size

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def _asset(path: str) -> str:
    from htan_cds.server.portal.pages import asset

    return asset(path)


TEMPLATES.globals["asset"] = _asset
TEMPLATES.globals["version"] = __version__
TEMPLATES.filters["size"] = format_size


def page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Render ``templates/name`` (with ``nav`` naming the current page, if given)."""
    values.setdefault("nav", "")
    return HTMLResponse(TEMPLATES.get_template(name).render(**values), status_code=status)


def mount_static(app: Any) -> None:
    """Serve the portal's static files at ``/portal/static`` (the stand-alone workspace)."""
    from fastapi.staticfiles import StaticFiles

    from htan_cds.server.portal.pages import STATIC_DIR, STATIC_PREFIX

    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="portal-static")


def missing_page(request: Any) -> HTMLResponse:
    """The workspace's 404 page for browsers (the stand-alone workspace has no portal)."""
    return page(
        "error.html",
        404,
        error={
            "message": f"Nothing here answers {request.url.path}.",
            "status": 404,
            "code": 404,
            "more_info": "/workspace/import",
        },
    )
