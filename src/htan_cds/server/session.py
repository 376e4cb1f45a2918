"""The portal's session: a browser signs in once with a bearer token and then carries a cookie.

Browsers cannot add ``Authorization`` headers to ``<img>`` requests (OpenSeadragon's tiles,
thumbnails), so pages of controlled images need a cookie. The cookie never holds the token:
it is ``<token id>.<expires>.<HMAC-SHA256(secret.key, token id, expires)>``, so a stolen
cookie is useless after its expiry and dies with ``htan-cds token revoke`` (every request
checks that the token is still active and reads its grants afresh). HttpOnly, SameSite=Strict,
and Secure when the commons is served over https. Signing in is refused from other sites
(``Origin`` / ``Sec-Fetch-Site``), so no site can sign a visitor in under its own token.

Callers are resolved by :func:`request_caller`: a bearer header wins (and an invalid one is
refused, as the DRS routes do); else the session cookie; else anonymous.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.requests import HTTPConnection
from starlette.responses import Response

from htan_cds.server.access import ANONYMOUS, Caller, bearer_caller
from htan_cds.server.tokens import TokenStore

COOKIE = "hcds_session"
SESSION_TTL = 8 * 3600
_PURPOSE = b"htan-cds portal session v1"

router = APIRouter(include_in_schema=False)


def _mac(key: bytes, token_id: str, expires: int) -> str:
    message = _PURPOSE + f"\n{token_id}\n{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue(key: bytes, token_id: str, *, ttl: int = SESSION_TTL, now: float | None = None) -> str:
    """A session cookie value for ``token_id`` valid for ``ttl`` seconds."""
    expires = int((time.time() if now is None else now) + ttl)
    return f"{token_id}.{expires}.{_mac(key, token_id, expires)}"


def session_caller(value: str | None, key: bytes, tokens: TokenStore) -> Caller | None:
    """The caller a session cookie stands for, or None if it is absent, forged or stale."""
    if not value or value.count(".") != 2:
        return None
    token_id, expires_text, mac = value.split(".")
    if not expires_text.isdigit() or int(expires_text) < time.time():
        return None
    if not hmac.compare_digest(_mac(key, token_id, int(expires_text)), mac):
        return None
    info = tokens.get(token_id)
    if info is None or not info.active:
        return None
    return Caller(frozenset(info.grants), True)


def request_caller(request: HTTPConnection) -> Caller | None:
    """Bearer header, else session cookie, else anonymous; None for an invalid bearer."""
    app = request.app
    header = request.headers.get("authorization")
    if header is not None and header.strip():
        return bearer_caller(header, app.state.tokens)
    cookie = request.cookies.get(COOKIE)
    if cookie:
        caller = session_caller(cookie, app.state.config.home.secret_key(), app.state.tokens)
        if caller is not None:
            return caller
    return ANONYMOUS


def same_site(request: HTTPConnection) -> bool:
    """True unless the browser says the request comes from another site's page.

    Browsers send ``Sec-Fetch-Site`` (W3C Fetch Metadata) on every request: only
    ``same-origin`` and ``none`` (typed, bookmarked) are this site. Without it, an ``Origin``
    (``null`` included) other than this server's public origin or the host the request was sent
    to is another site. Requests with neither header do not come from a web page (curl,
    scripts, the CLI) and are let through. Used on sign-in and on every state-changing portal
    request (saving carts, exports).
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site.strip().lower() in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    netloc = urlsplit(origin.strip()).netloc.lower()
    if not netloc:
        return False  # "null" and other opaque origins
    public = urlsplit(str(request.app.state.config.base_url)).netloc.lower()
    return netloc in (public, (request.headers.get("host") or "").lower())


def _safe_next(value: str | None) -> str:
    """A local path to go back to (never another site: ``//host`` and schemes are dropped)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def secure_cookies(request: HTTPConnection) -> bool:
    """True when cookies must be ``Secure``: clients reach this server over https.

    That is a https public URL (a TLS proxy in front, ``--public-url https://...``; the
    workspace's own when it runs alone), TLS served directly (``--ssl-certfile``), or a
    request that came over https through a proxy whose ``X-Forwarded-Proto`` uvicorn trusts
    (``--forwarded-allow-ips``; the scheme is then https).
    """
    state = request.app.state
    config = getattr(state, "config", None)  # absent in a stand-alone workspace
    base = config.base_url if config is not None else getattr(state.workspace, "base_url", "")
    if str(base).lower().startswith("https://"):
        return True
    return request.url.scheme == "https"


@router.post("/session")
def sign_in(request: Request, token: str = Form(""), next: str = Form("/")) -> Response:
    """Sign in with a bearer token (form fields ``token`` and ``next``): set the cookie."""
    if not same_site(request):
        return JSONResponse({"msg": "sign-in from another site refused", "status_code": 403}, 403)
    info = request.app.state.tokens.verify(token.strip())
    target = _safe_next(next)
    if info is None:
        sep = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{sep}signin=failed", status_code=303)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        issue(request.app.state.config.home.secret_key(), info.id),
        max_age=SESSION_TTL,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        path="/",
    )
    return response


@router.post("/session/end")
def sign_out(request: Request, next: str = Form("/")) -> Response:
    """Forget the session cookie."""
    if not same_site(request):
        return JSONResponse({"msg": "sign-out from another site refused", "status_code": 403}, 403)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=secure_cookies(request)
    )
    return response


@router.get("/session")
def session_state(request: Request) -> dict[str, Any]:
    """Whether this browser is signed in, and with which grants."""
    caller = request_caller(request)
    if caller is None:
        return {"signed_in": False, "grants": []}
    return {"signed_in": caller.authenticated, "grants": sorted(caller.grants)}


def mount(app: Any, config: Any) -> None:
    """Add ``POST /session``, ``POST /session/end``, ``GET /session`` (a create_app extension)."""
    del config
    app.include_router(router)
