"""Errors shaped like the Seven Bridges API's: ``{"status", "code", "message", "more_info"}``.

Codes follow SB's published table (0xxx maintenance, 1000 rate limit, 2xxx users, 3xxx projects);
where SB publishes none for a case (files, bulk DRS import validation) this workspace uses the
5xxx/9xxx codes listed in docs/workspace.md.
"""

from __future__ import annotations

from typing import Any

from htan_cds.errors import WorkspaceError

MORE_INFO = "https://docs.cancergenomicscloud.org/docs/api-status-codes"

# Codes from SB's table (same numbers, same meaning).
RATE_LIMITED = 1000
USER_NOT_FOUND = 2002
PROJECT_FORBIDDEN = 3001
PROJECT_NOT_FOUND = 3002
PROJECT_EXISTS = 3003
PROJECT_NAME_EMPTY = 3007
PROJECT_ID_MALFORMED = 3012
# Codes of this workspace (documented in docs/workspace.md).
FILE_NOT_FOUND = 5002
FILE_EXISTS = 5003
IMPORT_NOT_FOUND = 9102
DRS_RESOLVE_FAILED = 9103
DRS_DOWNLOAD_FAILED = 9104
IMPORT_ABORTED = 9105
BAD_REQUEST = 9000
TOO_MANY_ITEMS = 9101
UNAUTHORIZED = 401


class SbApiError(WorkspaceError):
    """An error the ``/v2`` API answers with its HTTP status and an SB-shaped body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers: dict[str, str] = {}

    def with_headers(self, headers: dict[str, str]) -> SbApiError:
        """Attach response headers (e.g. ``X-RateLimit-*`` on a 429); returns self."""
        self.headers = dict(headers)
        return self

    def body(self) -> dict[str, Any]:
        """The JSON body SB's API sends for this error."""
        return sb_error_body(self.status, self.code, self.message)


def sb_error_body(status: int, code: int, message: str) -> dict[str, Any]:
    """``{"status", "code", "message", "more_info"}`` as SB's API writes it."""
    return {"status": status, "code": code, "message": message, "more_info": MORE_INFO}


def bad_request(message: str, code: int = BAD_REQUEST) -> SbApiError:
    """A 400 with ``message``."""
    return SbApiError(400, code, message)


def not_found(message: str, code: int) -> SbApiError:
    """A 404 with ``message``."""
    return SbApiError(404, code, message)


def unauthorized(
    message: str = "Unauthorized: a valid X-SBG-Auth-Token is required.",
) -> SbApiError:
    """A 401 (missing, unknown, expired or revoked token)."""
    return SbApiError(401, UNAUTHORIZED, message)
