"""The commons server: GA4GH DRS 1.5 API, signed byte serving, access control."""

from htan_cds.server.app import create_app, serve
from htan_cds.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app", "serve"]
