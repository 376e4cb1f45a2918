"""The CGC side: projects, files, an SB-compatible bulk DRS import API and import-redirect.

``mount(app, config)`` adds the workspace to a commons server (``htan-cds serve --workspace``).
"""

from __future__ import annotations

from typing import Any


def mount(app: Any, config: Any) -> None:
    """Add the workspace routes to ``app`` when ``config.workspace`` is true."""
    if not getattr(config, "workspace", False):
        return
    from htan_cds.workspace.app import install

    install(app, config.home, config.base_url)
