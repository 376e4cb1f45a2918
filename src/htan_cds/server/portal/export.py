"""Manifests handed out by link: signed short-lived exports (CGC) and durable saved carts (CLI).

"Export to Cancer Genomics Cloud" works the way CDS does it: the server writes the cart's
manifest once, and sends the browser to ``{export_target}?URL=<signed URL of that manifest>``.
The URL carries an HMAC over its path and expiry (``htan_cds.server.signing``), so CGC can fetch
it without a login and nobody can use it after ``export_ttl`` seconds.

"Copy CLI command" needs a link that does not expire, so a cart is saved under the hash of its
content and its manifest is generated afresh on each GET; the catalog a server serves is
read-only, so that manifest is the same every time.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse
from starlette.background import BackgroundTask
from starlette.responses import Response

from htan_cds.catalog import Catalog
from htan_cds.catalog.manifest_writer import write_selection_manifest
from htan_cds.errors import UsageError
from htan_cds.server.caps import MIB, FolderCap, folder_limits, touch
from htan_cds.server.limits import parse_json
from htan_cds.server.portal.cart import Cart
from htan_cds.server.portal.manifests import ManifestFormat, manifest_format
from htan_cds.server.portal.state import (
    FastJSONResponse,
    PortalRoute,
    json_error,
    portal_state,
    use_catalog,
    visibility,
)
from htan_cds.server.signing import sign, signed_url

_EXPORT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_CART_KEY_RE = re.compile(r"^[0-9a-f]{32}$")
# Stored exports outlive their URL a little, then go at the next export.
_PRUNE_GRACE = 60

MAX_SAVED_CART_BYTES = 2 * MIB

router = APIRouter(route_class=PortalRoute)
CatalogDep = Depends(use_catalog)


def exports_dir(home_root: Path) -> Path:
    """Where signed exports and saved carts live: ``<home>/exports``."""
    path = home_root / "exports"
    if not (path / "carts").is_dir():
        (path / "carts").mkdir(parents=True, exist_ok=True)
        # Manifests may list controlled files: readable by the server's user only.
        os.chmod(path, 0o700)
    return path


def _write_manifest_file(
    request: Request, catalog: Catalog, cart: Cart, fmt: ManifestFormat, dest: Path
) -> int:
    if cart.is_empty():
        raise UsageError("the cart is empty; add files in the Data Explorer first")
    # Only files the caller may see go into a manifest (docs/security.md).
    selection = visibility(request, catalog).restrict(cart.where(catalog))
    tmp = dest.with_name(dest.name + ".part")
    # The writer `htan-cds manifest create` uses: same selection and format, same file.
    count, _ = write_selection_manifest(
        catalog, selection, fmt.name, tmp, authority=portal_state(request).authority
    )
    os.replace(tmp, dest)
    return count


def _prune(folder: Path, max_age: float) -> None:
    cutoff = time.time() - max_age
    for path in folder.glob("*.*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            continue  # another worker pruned it first


def create_export(request: Request, catalog: Catalog, cart: Cart) -> tuple[str, int, int]:
    """Store the cart's CGC manifest; return its signed URL, expiry time and row count."""
    state = portal_state(request)
    folder = exports_dir(state.config.home.root)
    _prune(folder, state.export_ttl + _PRUNE_GRACE)
    export_id = secrets.token_urlsafe(18)
    fmt = manifest_format("cgc")
    dest = folder / f"{export_id}.{fmt.extension}"
    count = _write_manifest_file(request, catalog, cart, fmt, dest)
    # Over the [limits], the oldest exports go first (their links then answer 404: export again).
    folder_limits(request.app).exports.prune(folder, keep=dest)
    path = f"/api/exports/{export_id}/manifest.{fmt.extension}"
    url = signed_url(state.config.base_url, state.config.home.secret_key(), path, state.export_ttl)
    return url, int(time.time()) + state.export_ttl, count


@router.post("/api/cart/export", response_model=None)
def export_to_cgc(
    request: Request, cart: str = Form(...), catalog: Catalog = CatalogDep
) -> Response:
    """Store the manifest behind a signed URL and send the browser to the export target.

    A form post gets a 303 redirect (what the cart page does); a client asking for JSON gets
    ``{url, redirect, expires, files}`` instead, for scripts and tests.
    """
    state = portal_state(request)
    url, expires, count = create_export(request, catalog, Cart.from_json(cart))
    target = state.export_target
    redirect = f"{target}{'&' if '?' in target else '?'}URL={quote(url, safe='')}"
    if "application/json" in request.headers.get("accept", ""):
        return FastJSONResponse(
            {"url": url, "redirect": redirect, "expires": expires, "files": count}
        )
    return RedirectResponse(redirect, status_code=303)


@router.get("/api/exports/{export_id}/{filename}", response_model=None)
def get_export(
    request: Request, export_id: str, filename: str, expires: str = "", sig: str = ""
) -> Response:
    """Serve a stored export if the URL's signature is valid and not yet expired."""
    state = portal_state(request)
    if not _EXPORT_ID_RE.match(export_id) or not expires or not sig:
        return json_error(403, "this export link is not signed")
    try:
        expiry = int(expires)
    except ValueError:
        return json_error(403, "this export link is not signed")
    expected = sign(state.config.home.secret_key(), request.url.path, expiry)
    if not secrets.compare_digest(expected, sig):
        return json_error(403, "this export link's signature is not valid")
    if expiry < time.time():
        return json_error(403, "this export link has expired; export the cart again")
    suffix = filename.rpartition(".")[2]
    path = exports_dir(state.config.home.root) / f"{export_id}.{suffix}"
    if not path.is_file():
        return json_error(404, "this export no longer exists; export the cart again")
    media = "application/json" if suffix == "json" else "text/csv"
    return FileResponse(path, media_type=media, filename=f"htan-cds-cgc-manifest.{suffix}")


@router.post("/api/cart/manifest", response_model=None)
def download_manifest(
    request: Request,
    cart: str = Form(...),
    format: str = Form("cgc"),
    catalog: Catalog = CatalogDep,
) -> Response:
    """The cart's manifest as a file download, in the chosen format."""
    fmt = manifest_format(format)
    folder = exports_dir(portal_state(request).config.home.root)
    fd, name = tempfile.mkstemp(prefix="download-", suffix="." + fmt.extension, dir=folder)
    os.close(fd)
    path = Path(name)
    try:
        _write_manifest_file(request, catalog, Cart.from_json(cart), fmt, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return FileResponse(
        path,
        media_type=fmt.media_type,
        filename=f"htan-cds-manifest-{fmt.name}-{stamp}.{fmt.extension}",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def save_cart(home_root: Path, cart: Cart, cap: FolderCap | None = None) -> str:
    """Save the cart under its content hash (idempotent); return the key.

    The folder is kept under ``cap`` (count, bytes, age since last use; the ``[limits]`` of
    ``config.toml``): the least recently used carts go first.
    """
    key = cart.key()
    folder = exports_dir(home_root) / "carts"
    path = folder / f"{key}.json"
    if path.exists():
        touch(path)
        return key
    blob = orjson.dumps(cart.to_json())
    if len(blob) > MAX_SAVED_CART_BYTES:
        raise UsageError(
            f"this cart is {len(blob)} bytes, more than {MAX_SAVED_CART_BYTES} can be saved",
            hint="add files by filter (Add All Files) instead of one by one",
        )
    fd, tmp = tempfile.mkstemp(prefix=".cart-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if cap is not None:
        cap.prune(folder, keep=path)
    return key


def load_cart(home_root: Path, key: str) -> Cart:
    """A saved cart by key (:class:`UsageError` when unknown); marks it as used."""
    path = exports_dir(home_root) / "carts" / f"{key}.json"
    if not _CART_KEY_RE.match(key) or not path.is_file():
        raise UsageError(f"no saved cart {key!r} (unused saved carts are removed after a while)")
    touch(path)
    return Cart.from_json(path.read_bytes())


def cli_command(manifest_url: str, dest: str = "htan-data") -> str:
    """The ``htan-cds import`` line that fetches the files of a saved cart's manifest.

    ``htan-cds import -`` reads a manifest from stdin, so curl hands it over without a temp file.
    """
    return f"curl -fsSL {shlex.quote(manifest_url)} | htan-cds import - --to {shlex.quote(dest)}"


@router.post("/api/cart/cli")
async def cart_cli(request: Request) -> dict[str, Any]:
    """Save the cart and return the CLI command (and the durable manifest URL it uses)."""
    body = parse_json(await request.body())
    cart = Cart.from_json(body.get("cart") if isinstance(body, dict) else None)
    if cart.is_empty():
        raise UsageError("the cart is empty; add files in the Data Explorer first")
    state = portal_state(request)
    key = save_cart(state.config.home.root, cart, folder_limits(request.app).carts)
    query = urlencode({"format": "cgc"})
    url = f"{state.config.base_url}/api/carts/{key}/manifest.csv?{query}"
    return {"key": key, "manifest_url": url, "command": cli_command(url)}


@router.get("/api/carts/{key}/{filename}", response_model=None)
def saved_cart_manifest(
    request: Request, key: str, filename: str, format: str = "", catalog: Catalog = CatalogDep
) -> Response:
    """A saved cart's manifest, generated afresh (durable link used by the CLI command)."""
    state = portal_state(request)
    cart = load_cart(state.config.home.root, key)
    fmt = manifest_format(format or ("gen3" if filename.endswith(".json") else "cgc"))
    folder = exports_dir(state.config.home.root)
    fd, name = tempfile.mkstemp(prefix="cart-", suffix="." + fmt.extension, dir=folder)
    os.close(fd)
    path = Path(name)
    try:
        _write_manifest_file(request, catalog, cart, fmt, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path,
        media_type=fmt.media_type,
        filename=f"htan-cds-cart-{key[:8]}.{fmt.extension}",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
