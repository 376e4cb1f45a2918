"""Server configuration: what ``htan-cds serve`` was asked to do."""

from __future__ import annotations

from dataclasses import dataclass, field

from htan_cds.config import DataHome
from htan_cds.drs.uri import DRS_API_PATH

DEFAULT_MAX_BULK = 1000
DEFAULT_MAX_BODY = 8 * 1024 * 1024


@dataclass
class ServerConfig:
    """Everything :func:`htan_cds.server.create_app` needs; defaults suit a laptop commons."""

    home: DataHome
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None
    drs_compat: str | None = None
    store: str | None = None
    s3_endpoint: str | None = None
    access_ttl: int = 3600
    workspace: bool = False
    export_target: str = "https://cgc.sbgenomics.com/import-redirect/drs/csv"
    export_ttl: int = 600  # lifetime (s) of the portal's signed "Export to CGC" manifest URLs
    workers: int = 1
    max_bulk: int = DEFAULT_MAX_BULK
    max_body_bytes: int = DEFAULT_MAX_BODY
    nginx_accel: str | None = None
    cors_origins: list[str] = field(default_factory=lambda: ["*"])
    log_level: str = "warning"
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    header_timeout: float = 10.0  # seconds to receive a request's headers (slow clients)

    @property
    def base_url(self) -> str:
        """Public base URL (scheme://host[:port]) used in ``self_uri`` and signed URLs."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        if host in ("0.0.0.0", "[::]"):
            host = "127.0.0.1"
        scheme = "https" if self.ssl_certfile else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def drs_base_url(self) -> str:
        """Base URL of the DRS API: ``{base_url}/ga4gh/drs/v1``."""
        return self.base_url + DRS_API_PATH

    @property
    def authority(self) -> str:
        """``host[:port]`` of the public URL: the authority of this commons' DRS URIs."""
        rest = self.base_url.split("://", 1)[-1]
        return rest.split("/", 1)[0]

    @property
    def compat_12(self) -> bool:
        return self.drs_compat is not None and self.drs_compat.startswith("1.2")
