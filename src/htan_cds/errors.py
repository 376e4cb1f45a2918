"""The one exception hierarchy of htan-cds.

Every error a user can cause derives from :class:`HtanCdsError`; the CLI prints its message on
one line and exits with :attr:`HtanCdsError.exit_code` (a traceback only with ``--debug``).
"""

from __future__ import annotations


class HtanCdsError(Exception):
    """Base of every error htan-cds raises on purpose."""

    exit_code: int = 2
    # How the CLI labels the one line it prints ("error: …").
    label: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class UsageError(HtanCdsError):
    """The command or call was given arguments that cannot work."""


class ConfigError(HtanCdsError):
    """The data home or configuration is unusable."""


class InvalidDrsUri(HtanCdsError, ValueError):
    """A string is not a DRS URI of any supported form."""


class UnknownPrefix(InvalidDrsUri):
    """A compact DRS URI names a prefix the registry cannot resolve."""


class ManifestError(HtanCdsError):
    """A manifest cannot be read or written at all (as opposed to row findings)."""


class ManifestFormatError(ManifestError):
    """The manifest's format is unknown or could not be detected."""


class ManifestHasErrors(HtanCdsError):
    """A manifest was read but has rows with errors."""

    exit_code = 1


class CatalogError(HtanCdsError):
    """The catalog cannot answer: missing, wrong schema, or a refused query."""


class StorageError(HtanCdsError):
    """The object store cannot store or return bytes."""


class ObjectNotFound(StorageError, KeyError):
    """No object with this key exists in the store."""

    def __str__(self) -> str:
        return self.message


class DrsError(HtanCdsError):
    """A DRS server answered with an error or something that is not DRS."""

    def __init__(self, message: str, *, status_code: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status_code = status_code


class AccessDenied(DrsError):
    """The server refused access (401/403) or no credentials fit."""


class TransferError(HtanCdsError):
    """An import could not complete for one or more objects."""

    exit_code = 1


class ChecksumMismatch(TransferError):
    """Downloaded bytes do not match the checksum the DRS object declares."""


class ImagingError(HtanCdsError):
    """An image or its OME-XML cannot be read."""


class WorkspaceError(HtanCdsError):
    """The workspace (CGC side) refused or failed an operation."""


class Interrupted(HtanCdsError):
    """The user stopped a command (Ctrl-C); the message says what was done and how to go on."""

    exit_code = 130
    label = "interrupted"
