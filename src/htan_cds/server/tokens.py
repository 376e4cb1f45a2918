"""Bearer tokens for controlled data: minted by ``htan-cds token create``, stored hashed.

A token is ``hcds_<id>_<secret>``; the data home keeps only the id, the sha-256 of the secret,
the grants and timestamps (``tokens.json``, mode 0600), so a copy of the home does not hand out
access. Revocation marks the entry; the server re-reads the file when it changes.

Changes are atomic across processes: each create/revoke holds an exclusive lock
(``tokens.json.lock``, via ``filelock``), re-reads the file inside it, and replaces it by a
write-fsync-rename, so two commands run at once never lose each other's change and a reader
(the server) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from filelock import FileLock, Timeout

from htan_cds.config import DataHome
from htan_cds.errors import ConfigError, UsageError

TOKEN_PREFIX = "hcds_"
TOKENS_FILE = "tokens.json"
_LOCK_TIMEOUT = 30.0


@dataclass(frozen=True)
class TokenInfo:
    """What the store knows of one token (never the secret)."""

    id: str
    grants: tuple[str, ...]
    created: int
    expires: int | None = None
    label: str | None = None
    revoked: int | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None and (self.expires is None or self.expires > time.time())

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (grants as a list, state spelled out)."""
        data = asdict(self)
        data["grants"] = list(self.grants)
        data["active"] = self.active
        return data


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass
class _Cache:
    stamp: tuple[int, int, int] | None = None
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)


class TokenStore:
    """Create, verify, list and revoke bearer tokens of one data home."""

    def __init__(self, home: DataHome) -> None:
        self.path = home.root / TOKENS_FILE
        self._cache = _Cache()
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {}
        # A rename makes a new inode, and mtime_ns/size catch an in-place edit by hand.
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp == self._cache.stamp:
            return self._cache.entries
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.path} is unreadable: {exc}") from exc
        entries = data.get("tokens", {}) if isinstance(data, dict) else {}
        self._cache = _Cache(stamp=stamp, entries=entries)
        return entries

    @contextmanager
    def _changing(self) -> Iterator[dict[str, dict[str, Any]]]:
        """The current entries under an exclusive cross-process lock; saved when the block ends.

        The block mutates the dict it is given; nothing is written if it raises.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path) + ".lock", timeout=_LOCK_TIMEOUT, mode=0o600)
        try:
            with self._lock, lock:
                self._cache = _Cache()  # another process may have written since we read
                entries = {k: dict(v) for k, v in self._load().items()}
                yield entries
                self._save(entries)
        except Timeout as exc:
            raise ConfigError(
                f"{self.path} is locked by another htan-cds process for over "
                f"{_LOCK_TIMEOUT:.0f} s; try again"
            ) from exc

    def _save(self, entries: dict[str, dict[str, Any]]) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump({"version": 1, "tokens": entries}, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._cache = _Cache()

    def create(
        self,
        grants: list[str] | tuple[str, ...],
        *,
        ttl: int | None = None,
        label: str | None = None,
    ) -> str:
        """Mint a token holding ``grants`` (consent groups); return it (shown only once)."""
        clean = tuple(dict.fromkeys(g.strip() for g in grants if g and g.strip()))
        if not clean:
            raise UsageError(
                "a token needs at least one --grant (a consent group such as phs002371)"
            )
        secret = secrets.token_urlsafe(32)
        with self._changing() as entries:
            token_id = secrets.token_hex(6)
            while token_id in entries:
                token_id = secrets.token_hex(6)
            entries[token_id] = {
                "hash": _hash(secret),
                "grants": list(clean),
                "created": int(time.time()),
                "expires": int(time.time()) + ttl if ttl else None,
                "label": label,
                "revoked": None,
            }
        return f"{TOKEN_PREFIX}{token_id}_{secret}"

    @staticmethod
    def _info(token_id: str, entry: dict[str, Any]) -> TokenInfo:
        return TokenInfo(
            id=token_id,
            grants=tuple(entry.get("grants", ())),
            created=int(entry.get("created", 0)),
            expires=entry.get("expires"),
            label=entry.get("label"),
            revoked=entry.get("revoked"),
        )

    def verify(self, token: str) -> TokenInfo | None:
        """The token's info if it is known, unrevoked and unexpired; else None."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        token_id, sep, secret = token[len(TOKEN_PREFIX) :].partition("_")
        if not sep or not secret:
            return None
        entry = self._load().get(token_id)
        if entry is None:
            return None
        if not hmac.compare_digest(str(entry.get("hash", "")), _hash(secret)):
            return None
        info = self._info(token_id, entry)
        return info if info.active else None

    def list(self) -> list[TokenInfo]:
        """Every token ever minted in this home (revoked ones too), oldest first."""
        items = [self._info(k, v) for k, v in self._load().items()]
        return sorted(items, key=lambda t: (t.created, t.id))

    def revoke(self, token_or_id: str) -> TokenInfo:
        """Revoke a token given by id or whole value; raise UsageError if unknown."""
        token_id = token_or_id
        if token_or_id.startswith(TOKEN_PREFIX):
            token_id = token_or_id[len(TOKEN_PREFIX) :].partition("_")[0]
        with self._changing() as entries:
            entry = entries.get(token_id)
            if entry is None:
                raise UsageError(f"no token with id {token_id!r} (see: htan-cds token list)")
            if entry.get("revoked") is None:
                entry["revoked"] = int(time.time())
        return self._info(token_id, entry)

    def get(self, token_id: str) -> TokenInfo | None:
        """What the store knows of the token with this id (None when unknown)."""
        entry = self._load().get(token_id)
        return None if entry is None else self._info(token_id, entry)
