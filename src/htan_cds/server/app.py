"""The app factory: DRS API + signed bytes + extension mounts, and the uvicorn runner."""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from htan_cds.errors import ConfigError, UsageError
from htan_cds.server import errors as server_errors
from htan_cds.server.config import ServerConfig

if TYPE_CHECKING:
    from fastapi import FastAPI

_log = logging.getLogger("htan_cds.server")
_EXPOSED = ["Content-Range", "Content-Length", "Accept-Ranges", "ETag", "Content-Disposition"]


def _access_provider(config: ServerConfig, key: bytes) -> Any:
    from htan_cds.server.service import LocalAccess

    if config.store and config.store.startswith("s3://"):
        from htan_cds.server.s3_access import S3Access
        from htan_cds.storage.s3 import S3ObjectStore

        return S3Access(config, S3ObjectStore.from_url(config.store, config.s3_endpoint))
    return LocalAccess(config, key)


def _local_store(config: ServerConfig) -> Any:
    from pathlib import Path

    from htan_cds.storage.local import LocalObjectStore

    if config.store and config.store.startswith("s3://"):
        return None
    if config.store and "://" in config.store:
        raise UsageError(f"--store must be a folder or s3://bucket/prefix, not {config.store!r}")
    root = Path(config.store).expanduser() if config.store else config.home.objects_dir
    return LocalObjectStore(root)


def _mount_extensions(app: FastAPI, config: ServerConfig) -> None:
    from htan_cds.server.extensions import MOUNTS

    for spec in MOUNTS:
        module_name, _, func_name = spec.partition(":")
        try:
            func = getattr(importlib.import_module(module_name), func_name)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"server extension {spec!r} cannot be loaded: {exc}") from exc
        func(app, config)


def create_app(config: ServerConfig) -> FastAPI:
    """Build the commons' ASGI app for ``config`` (catalog read, keys loaded, routes bound)."""
    from starlette.middleware.cors import CORSMiddleware

    from htan_cds.server.bytes_routes import BytesRoutes
    from htan_cds.server.drs_routes import DrsRoutes
    from htan_cds.server.objects import ObjectRepository
    from htan_cds.server.passports import load_verifier
    from htan_cds.server.service import DrsService
    from htan_cds.server.tokens import TokenStore
    from htan_cds.server.zerocopy import CommonsApp

    key = config.home.secret_key()
    repo = ObjectRepository(config.home.catalog_path)
    service = DrsService(config, repo, _access_provider(config, key), load_verifier(config.home))
    tokens = TokenStore(config.home)

    app = CommonsApp(title="htan-cds commons", version="1.5.0", docs_url="/docs", redoc_url=None)
    app.max_body_bytes = config.max_body_bytes
    app.state.config = config
    app.state.drs = service
    app.state.tokens = tokens
    server_errors.install(app)
    for route in DrsRoutes(service, tokens).routes():
        app.router.routes.append(route)
    store = _local_store(config)
    if store is not None:
        for route in BytesRoutes(service, store, key).routes():
            app.router.routes.append(route)
    _mount_extensions(app, config)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=config.cors_origins,
        allow_methods=["GET", "POST", "OPTIONS", "HEAD"],
        allow_headers=["Authorization", "Content-Type", "Range", "If-Range"],
        expose_headers=_EXPOSED,
    )
    return app


def serve(config: ServerConfig) -> None:
    """Run the app under uvicorn until interrupted (blocking); a port that cannot be listened
    on (or an S3 store that does not answer) raises :class:`UsageError` before anything starts.

    Connections use :class:`htan_cds.server.slow_clients.HeaderTimeoutHttpTools` (a client has
    ``config.header_timeout`` seconds to send a request's headers).
    """
    from htan_cds.server import slow_clients
    from htan_cds.server.iiif_routes import start_preload
    from htan_cds.server.listen import ensure_can_serve

    ensure_can_serve(config)
    if config.workers <= 1:  # workers warm up in their own process (iiif_routes.mount)
        start_preload()

    common: dict[str, Any] = {
        "header_timeout": config.header_timeout,
        "host": config.host,
        "port": config.port,
        "log_level": config.log_level,
        "access_log": False,
        "proxy_headers": True,
        "server_header": False,
        "ssl_certfile": config.ssl_certfile,
        "ssl_keyfile": config.ssl_keyfile,
    }
    if config.workers > 1:
        # Workers re-create the app in their process from the environment.
        import os

        os.environ["HTAN_CDS_SERVER_CONFIG"] = _encode_config(config)
        _run_workers(
            slow_clients.uvicorn_config(
                "htan_cds.server.app:_app_from_env",
                factory=True,
                workers=config.workers,
                **common,
            )
        )
        return
    slow_clients.run(slow_clients.uvicorn_config(create_app(config), **common))


def _run_workers(uv_config: Any) -> None:
    """uvicorn's multi-process mode, with TCP_NODELAY set on the listening socket.

    Workers receive the listener through pickling, which loses the socket's protocol number,
    so asyncio no longer sets TCP_NODELAY on accepted connections and every small response
    waits ~40 ms for a delayed ACK. Accepted sockets inherit the option from the listener.
    """
    import socket

    from uvicorn.supervisors import Multiprocess

    sock = uv_config.bind_socket()
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        Multiprocess(uv_config, sockets=[sock]).run()
    finally:
        sock.close()


def _encode_config(config: ServerConfig) -> str:
    import dataclasses
    import json

    data = dataclasses.asdict(config)
    data["home"] = str(config.home.root)
    return json.dumps(data)


def _app_from_env() -> FastAPI:
    import json
    import os

    from htan_cds.config import DataHome

    data = json.loads(os.environ["HTAN_CDS_SERVER_CONFIG"])
    data["home"] = DataHome.open(data["home"])
    return create_app(ServerConfig(**data))
