"""Extension seam: other areas mount their routes on the commons app.

Each entry is ``"module:function"``; :func:`htan_cds.server.create_app` imports the module and
calls ``function(app, config)``. The portal, thumbnails and workspace areas add one line each.
"""

from __future__ import annotations

MOUNTS: list[str] = [
    "htan_cds.workspace:mount",
    "htan_cds.server.portal:mount",
    "htan_cds.imaging.server:mount",
    "htan_cds.server.session:mount",
    "htan_cds.server.iiif_routes:mount",
    "htan_cds.server.named_bytes:mount",
    "htan_cds.server.portal.viewer_page:mount",
]
