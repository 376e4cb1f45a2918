"""Why a file of an import failed (or was held back), as a small registry of causes.

Each :class:`Cause` says in a few words what went wrong and what to do about it (``hint``). A
failure is classified from its exception where the engine has one — the exception, the
exceptions it was raised from, their HTTP status codes and ``errno`` values — and otherwise
from its message (reports of a CGC hand-off, rows of a ledger). The first cause that matches
wins, so specific causes come before general ones; ``other`` matches everything.

Other areas add causes with :func:`register_cause` instead of growing an if-chain.
"""

from __future__ import annotations

import errno
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from htan_cds.errors import (
    AccessDenied,
    ChecksumMismatch,
    InvalidDrsUri,
    StorageError,
)

ExceptionTest = Callable[[BaseException], bool]


@dataclass(frozen=True)
class Cause:
    """One kind of failure: ``code`` (stable, in JSON reports), a short ``title``, a ``hint``
    for the user, and the tests that recognise it (on an exception, on a message)."""

    code: str
    title: str
    hint: str
    matches: ExceptionTest = lambda _exc: False
    pattern: re.Pattern[str] | None = None
    # Causes that are not failures: the file was held back on purpose (a conflict, a dry run).
    failure: bool = True

    def matches_text(self, message: str) -> bool:
        return self.pattern is not None and self.pattern.search(message) is not None


_CAUSES: list[Cause] = []


def register_cause(cause: Cause, *, before: str | None = None) -> None:
    """Add ``cause`` (replacing one with the same code), ahead of cause ``before`` if given,
    else ahead of the catch-all ``other``."""
    global _CAUSES
    rest = [c for c in _CAUSES if c.code != cause.code]
    anchor = before or "other"
    index = next((i for i, c in enumerate(rest) if c.code == anchor), len(rest))
    _CAUSES = [*rest[:index], cause, *rest[index:]]


def causes() -> list[Cause]:
    """Every registered cause, in matching order."""
    return list(_CAUSES)


def cause(code: str) -> Cause:
    """The cause registered as ``code`` (``other`` when unknown)."""
    for item in _CAUSES:
        if item.code == code:
            return item
    return _CAUSES[-1]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from (explicitly, else while handling)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _status(exc: BaseException) -> int | None:
    for item in _chain(exc):
        status = getattr(item, "status_code", None) or getattr(item, "status", None)
        if isinstance(status, int) and 100 <= status <= 599:
            return status
    return None


def _any(exc: BaseException, test: Callable[[BaseException], bool]) -> bool:
    return any(test(item) for item in _chain(exc))


def _errno(exc: BaseException, *codes: int) -> bool:
    return _any(exc, lambda e: isinstance(e, OSError) and e.errno in codes)


def _connect_failure(item: BaseException) -> bool:
    # aiohttp's ClientConnectorError (refused, unreachable, DNS) is an OSError subclass too.
    name = type(item).__name__
    return (
        name.startswith("ClientConnector")
        or isinstance(item, ConnectionRefusedError | socket.gaierror)
        or (isinstance(item, OSError) and item.errno in _UNREACHABLE_ERRNOS)
    )


_UNREACHABLE_ERRNOS = {
    errno.ECONNREFUSED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EHOSTDOWN,
}

_HOST_RE = re.compile(r"Cannot connect to host (\[[^\]]+\]|[^\s:]+):(\d+)")


def unreachable_host_text(message: str) -> str | None:
    """``host:port`` from aiohttp's "Cannot connect to host H:P …" message."""
    match = _HOST_RE.search(message)
    return f"{match.group(1)}:{match.group(2)}" if match else None


def _is_type(name: str) -> ExceptionTest:
    return lambda exc: _any(exc, lambda e: any(t.__name__ == name for t in type(e).__mro__))


for _cause in (
    Cause(
        "checksum",
        "checksum mismatch",
        "the bytes never matched the declared checksum (nothing was kept); re-run to try "
        "again, and tell the data's host if it persists",
        matches=lambda exc: isinstance(exc, ChecksumMismatch),
        pattern=re.compile(r"checksum mismatch", re.I),
    ),
    Cause(
        "unverifiable",
        "no checksum to verify",
        "the server declares no checksum this client can compute; without "
        "--require-verified such files are imported as unverified",
        pattern=re.compile(r"no checksum this client can verify", re.I),
    ),
    Cause(
        "auth",
        "needs a token",
        "the DRS host refused access (HTTP 401/403): give --token, --passport or "
        "--gen3-credentials",
        matches=lambda exc: isinstance(exc, AccessDenied) or _status(exc) in (401, 403),
        pattern=re.compile(r"\bHTTP (401|403)\b|access keeps being refused", re.I),
    ),
    Cause(
        "not_found",
        "not on that server",
        "the DRS server does not know these ids (HTTP 404): check the URIs and that the "
        "manifest is for this server (htan-cds manifest check FILE)",
        matches=lambda exc: _status(exc) in (404, 410),
        pattern=re.compile(r"\bHTTP (404|410)\b"),
    ),
    Cause(
        "blocked",
        "refused by the connection guard",
        "the host resolves to an internal address; an operator may allow it (docs/security.md)",
        matches=_is_type("OutboundRefused"),
    ),
    Cause(
        "disk_full",
        "disk full",
        "no space left at the destination: free some (or choose another --to) and re-run; "
        "finished files are kept and re-running resumes",
        matches=lambda exc: _errno(exc, errno.ENOSPC, errno.EDQUOT, errno.EFBIG),
        pattern=re.compile(r"No space left on device|Disk quota exceeded|File too large", re.I),
    ),
    Cause(
        "too_big",
        "larger than the free space",
        "the server declares a size the free space at DEST cannot hold: free some, or choose "
        "another --to",
        pattern=re.compile(r"declared size .* is more than the .* free", re.I),
    ),
    Cause(
        "unreachable",
        "host unreachable",
        "nothing answers there: is the server running, and are the host name and port in "
        "the URI right?",
        matches=lambda exc: _any(exc, _connect_failure),
        pattern=re.compile(
            r"Cannot connect to host|Connection refused|Name or service not known|"
            r"nodename nor servname|Temporary failure in name resolution|No route to host|"
            r"Network is unreachable",
            re.I,
        ),
    ),
    Cause(
        "timeout",
        "timed out",
        "the server or the network is slow: re-run to resume (a lower --concurrency helps "
        "on a weak link)",
        matches=lambda exc: (
            _any(exc, lambda e: isinstance(e, TimeoutError)) or _is_type("ServerTimeoutError")(exc)
        ),
        pattern=re.compile(r"timed? ?out|TimeoutError", re.I),
    ),
    Cause(
        "server_error",
        "server error",
        "the server kept failing (HTTP 5xx/429) after retries: re-run later to resume",
        matches=lambda exc: (_status(exc) or 0) >= 500 or _status(exc) == 429,
        pattern=re.compile(r"\bHTTP (5\d\d|429)\b"),
    ),
    Cause(
        "destination",
        "cannot write the destination",
        "check that DEST is a folder you can write (for s3://: the credentials, the bucket "
        "and --s3-endpoint)",
        matches=lambda exc: (
            isinstance(exc, StorageError)
            or _is_type("DestinationError")(exc)
            or _any(exc, lambda e: isinstance(e, PermissionError | NotADirectoryError))
        ),
        pattern=re.compile(
            r"Permission denied|Read-only file system|Not a directory|Is a directory|"
            r"upload to .* failed|is a folder; cannot put a file there|refusing to write",
            re.I,
        ),
    ),
    Cause(
        "bad_uri",
        "not a usable DRS URI",
        "htan-cds manifest check FILE names each bad row; manifest convert --fix repairs "
        "compact ids",
        # Anywhere in the chain: resolve_bulk hands back a DrsError raised from it.
        matches=lambda exc: _any(exc, lambda e: isinstance(e, InvalidDrsUri)),
        # The messages of drs/uri.py's InvalidDrsUri, for failures known only by their text
        # (`import status` reads them from the ledger).
        pattern=re.compile(
            r"not a DRS URI|unknown (DRS )?prefix|cannot resolve prefix|empty DRS URI"
            r"|DRS URI '.*' has |compact DRS URI|CRDC accession|has nothing after drs://"
            r"|'drs://.*' (contains white space|has no object id)|is not a valid host name"
            r"|port \d+ is out of range|may carry a port only on loopback",
            re.I,
        ),
    ),
    Cause(
        "not_drs",
        "answer is not DRS",
        "the host answered, but not as a DRS server would: check the URI's host",
        matches=_is_type("BodyTooLarge"),
        pattern=re.compile(r"not a DRS object|not an AccessURL|too large", re.I),
    ),
    Cause(
        "no_access",
        "no way to fetch the bytes",
        "the DRS object offers no access method this client can use (https/s3/gs/ftp)",
        pattern=re.compile(r"no access method|has no URL and no id|cannot fetch", re.I),
    ),
    # Not failures: files held back on purpose. They are listed apart in the summary.
    Cause(
        "conflict",
        "a different file is already there",
        "--conflict rename|overwrite",
        pattern=re.compile(r"a different file is already there", re.I),
        failure=False,
    ),
    Cause(
        "duplicate",
        "listed twice",
        "a URI the manifest lists more than once is fetched once",
        pattern=re.compile(r"^duplicate of row", re.I),
        failure=False,
    ),
    Cause(
        "dry_run",
        "would be fetched",
        "run without --dry-run to fetch",
        pattern=re.compile(r"^dry run", re.I),
        failure=False,
    ),
    Cause(
        "other",
        "other errors",
        "each file's error is in --verbose and --json-report",
        matches=lambda exc: isinstance(exc, BaseException),
        pattern=re.compile(r""),
    ),
):
    _CAUSES.append(_cause)


def classify(exc: BaseException) -> str:
    """The code of the cause of a failure raised as ``exc``; message tests too, since many
    errors carry their reason only in the text ("gave up after 6 tries: HTTP 503")."""
    for item in _CAUSES:
        if item.failure and item.code != "other" and item.matches(exc):
            return item.code
    code = classify_text(str(exc))
    return code if is_failure_code(code) else "other"


def classify_text(message: str | None) -> str:
    """The code of the cause of a failure known only by its message."""
    text = message or ""
    for item in _CAUSES:
        if item.matches_text(text):
            return item.code
    return "other"


def is_failure_code(code: str) -> bool:
    """False for causes that hold a file back on purpose (conflict, duplicate, dry run)."""
    return cause(code).failure
