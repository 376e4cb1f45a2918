"""The commons' identity: the ``host[:port]`` its local DRS URIs name.

One catalog names one authority (``commons_meta.drs_authority``). Local files store no URI
(``files.drs_uri`` is NULL where ``drs_host`` is NULL); every reader computes
``drs://<authority>/<drs_id>``, so changing the authority is one metadata row plus clearing any
stale stored URIs — seconds on a million-file catalog. The server that answers those URIs must
be reachable at that authority; :func:`authority_mismatch` says when it is not.

Rule (DRS 1.5 "hostname-based DRS URIs", with this project's loopback deviation): a host
carries a port only on loopback; anything else is resolved over https on 443.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from htan_cds.errors import HtanCdsError, UsageError

if TYPE_CHECKING:
    from htan_cds.catalog.store import Catalog
    from htan_cds.config import DataHome

META_KEY = "drs_authority"
_DEFAULT_PORTS = {"https": 443, "http": 80}


def parse_authority(text: str) -> str:
    """``HOST[:PORT]`` checked as a DRS URI authority and normalised (host in lower case).

    Accepts ``host``, ``127.0.0.1:9000``, ``[::1]:9000``, ``localhost:8000`` and, for
    convenience, a URL (``http://127.0.0.1:9000/``) whose authority is taken.
    Raises :class:`UsageError` for anything a DRS URI could not carry (a port on a
    non-loopback host, a path, spaces).
    """
    from htan_cds.drs.uri import parse_drs_uri

    value = text.strip()
    if "://" in value:
        parts = urlsplit(value)
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise UsageError(f"{text!r}: give HOST[:PORT] (or a base URL without a path)")
        value = _url_authority(value)
    value = value.rstrip("/")
    if not value or "/" in value or "@" in value:
        raise UsageError(f"{text!r} is not HOST[:PORT] (e.g. 127.0.0.1:9000, commons.example.org)")
    try:
        uri = parse_drs_uri(f"drs://{value}/probe")
    except HtanCdsError as exc:
        detail = str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)
        raise UsageError(f"{text!r} cannot name DRS URIs: {detail}") from None
    if uri.host is None or uri.is_compact:
        raise UsageError(f"{text!r} is not HOST[:PORT] (e.g. 127.0.0.1:9000, commons.example.org)")
    return uri.authority


def _url_authority(url: str) -> str:
    """``host[:port]`` of a base URL, without the scheme's default port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{url!r}: {exc}") from None
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme):
        return host
    return f"{host}:{port}"


def url_authority(base_url: str) -> str:
    """The DRS authority a server at ``base_url`` answers for (``https://h:443`` -> ``h``)."""
    return _url_authority(base_url)


@dataclass(frozen=True)
class AuthorityChange:
    """What :func:`set_authority` did."""

    previous: str | None
    authority: str
    local_files: int
    rewritten: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``example_uri`` shows the new form when there are local files)."""
        return {
            "previous": self.previous,
            "authority": self.authority,
            "changed": self.previous != self.authority,
            "local_files": self.local_files,
            "stored_uris_rewritten": self.rewritten,
            "seconds": round(self.seconds, 3),
        }


def set_authority(catalog: Catalog, text: str) -> AuthorityChange:
    """Make ``text`` the authority of every local DRS URI of ``catalog``.

    Local files' URIs are computed from the authority, so only a stored URI of a local file (a
    catalog written by an older builder) needs rewriting; it is cleared so it follows the
    authority from now on. Raises :class:`UsageError` for an authority no DRS URI can carry.
    """
    authority = parse_authority(text)
    started = time.perf_counter()
    previous = catalog.get_meta(META_KEY)
    with catalog.cursor() as cur:
        row = cur.execute(
            "SELECT count(*), count(drs_uri) FROM files WHERE drs_host IS NULL OR drs_host = ''"
        ).fetchone()
        local, stored = (int(row[0]), int(row[1])) if row else (0, 0)
        if stored:
            # One statement: atomic, and a scan DuckDB does in well under a second per million.
            cur.execute(
                "UPDATE files SET drs_uri = NULL "
                "WHERE (drs_host IS NULL OR drs_host = '') AND drs_uri IS NOT NULL"
            )
    catalog.set_meta(META_KEY, authority)
    return AuthorityChange(previous, authority, local, stored, time.perf_counter() - started)


@dataclass(frozen=True)
class CatalogIdentity:
    """The authority a catalog's local URIs name, and how many local files carry it."""

    authority: str
    local_files: int


def catalog_identity(home: DataHome) -> CatalogIdentity | None:
    """Read the identity of ``home``'s catalog; ``None`` when there is none or it is busy."""
    import duckdb

    from htan_cds.catalog.store import DEFAULT_AUTHORITY

    path = home.catalog_path
    if not path.exists():
        return None
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if not {"files", "commons_meta"} <= tables:
            return None
        meta = con.execute("SELECT value FROM commons_meta WHERE key = ?", [META_KEY]).fetchone()
        row = con.execute(
            "SELECT count(*) FROM files WHERE drs_host IS NULL OR drs_host = ''"
        ).fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    authority = str(meta[0]) if meta and meta[0] else DEFAULT_AUTHORITY
    return CatalogIdentity(authority, int(row[0]) if row else 0)


def authority_mismatch(identity: CatalogIdentity | None, served: str, public: bool) -> str | None:
    """One line saying the server answers elsewhere than the catalog's URIs point, with the fix.

    ``served`` is the authority of the server's public base URL; ``public`` says whether it
    came from ``--public-url``. ``None`` when they agree or the catalog has no local files.
    """
    if identity is None or identity.local_files == 0:
        return None
    if identity.authority.lower() == served.lower():
        return None
    named = f"drs://{identity.authority}/…"
    if public:
        return (
            f"warning: --public-url names {served} but the catalog's {identity.local_files:,} "
            f"local DRS URIs name {named}; make them agree: "
            f"`htan-cds catalog set-authority {served}`, or a --public-url whose host is "
            f"{identity.authority}"
        )
    return (
        f"warning: serving at {served} but the catalog's {identity.local_files:,} local DRS URIs "
        f"name {named} (what find and manifest create hand out); fix: "
        f"`htan-cds catalog set-authority {served}`, or serve where they point "
        f"(--port / --public-url)"
    )
