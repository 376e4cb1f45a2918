"""Can this process listen where it was asked to? Checked before a server starts (and before
``demo`` spends a minute building), so a taken port is one clear line, not uvicorn's log."""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

from htan_cds.errors import UsageError

if TYPE_CHECKING:
    from htan_cds.server.config import ServerConfig

# What each bind failure means for someone who typed --host/--port.
_REASONS = {
    errno.EADDRINUSE: "is already in use (another htan-cds serve, or another program)",
    errno.EACCES: "needs privileges this user does not have (ports below 1024 need root)",
    errno.EADDRNOTAVAIL: "is not an address of this machine",
}


def ensure_can_listen(host: str, port: int, *, option: str = "--port") -> None:
    """Bind ``host:port`` for a moment the way uvicorn will (``SO_REUSEADDR``, so a socket in
    TIME_WAIT does not count); raise :class:`UsageError` naming the port and ``option`` when
    that fails."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"cannot listen on {host}: {exc.strerror}", hint="check --host") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            reason = _REASONS.get(exc.errno or 0, exc.strerror or str(exc))
            where = f"port {port} on {host}"
            if exc.errno == errno.EADDRNOTAVAIL:
                raise UsageError(f"--host {host} {reason}", hint="try 127.0.0.1") from exc
            raise UsageError(f"{where} {reason}", hint=f"choose another with {option} N") from exc


def ensure_can_serve(config: ServerConfig) -> None:
    """Everything a server needs before it says it is serving: its port, a ``--store`` folder
    that exists, and for ``--store s3://`` a bucket that answers (a wrong ``--s3-endpoint`` or
    missing credentials are one line now, not a 500 on every request)."""
    ensure_can_listen(config.host, config.port)
    if config.store and "://" not in config.store:
        # A mistyped --store folder would serve a 404 for every object: say it now.
        from pathlib import Path

        from htan_cds.errors import UsageError

        folder = Path(config.store).expanduser()
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise UsageError(f"--store {config.store} {what} (a folder of objects, or s3://…)")
    if config.store and config.store.startswith("s3://"):
        from htan_cds.s3errors import check_bucket
        from htan_cds.storage.s3 import S3ObjectStore

        store = S3ObjectStore.from_url(config.store, config.s3_endpoint)
        check_bucket(store.client, store.bucket, config.s3_endpoint)
