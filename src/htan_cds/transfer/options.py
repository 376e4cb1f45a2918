"""Options of an import (the CLI flags, as a dataclass usable from Python)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from htan_cds.drs.access_methods import PublicCloud
from htan_cds.drs.credentials import Credentials
from htan_cds.drs.endpoints import EndpointMap
from htan_cds.drs.prefixes import PrefixRegistry
from htan_cds.drs.retry import RetryPolicy
from htan_cds.errors import UsageError
from htan_cds.net.bounded import DEFAULT_JSON_CAP
from htan_cds.net.guard import OutboundGuard

if TYPE_CHECKING:
    from htan_cds.transfer.buckets import SeriesLookup

MiB = 1 << 20
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(i?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class ConflictPolicy(StrEnum):
    """What to do when DEST already holds a different file at the target path."""

    SKIP = "skip"
    RENAME = "rename"
    OVERWRITE = "overwrite"


def parse_size(text: str | int) -> int:
    """``"64MiB"``, ``"8M"``, ``"1.5G"``, ``"65536"`` → bytes (binary units; B optional)."""
    if isinstance(text, int):
        return text
    match = _SIZE_RE.match(text)
    if not match:
        raise UsageError(f"{text!r} is not a size (try 64MiB, 8M or 1048576)")
    value = float(match.group(1)) * _UNITS[match.group(2).upper()]
    return int(value)


@dataclass
class ImportOptions:
    """Everything that steers one import; defaults suit a laptop on a fast link."""

    concurrency: int = 8
    per_host: int | None = None
    part_size: int = 64 * MiB
    layout: str = "{name}"
    conflict: ConflictPolicy = ConflictPolicy.SKIP
    dry_run: bool = False
    token: str | None = None
    passport_file: Path | None = None
    gen3_credentials: Path | None = None
    # Where --token may go (origins or host[:port]); empty: the manifest's one DRS host.
    token_hosts: tuple[str, ...] = ()
    # Narrow passports to these hosts (they still go only where Authorizations accept them).
    passport_hosts: tuple[str, ...] | None = None
    # Ready-made host-bound credentials (the workspace's per-user choice); overrides the above.
    credentials: Credentials | None = None
    # The outgoing-connection guard (workspace mode) and the cap on DRS JSON answers.
    guard: OutboundGuard | None = None
    max_json_bytes: int = DEFAULT_JSON_CAP
    # Total seconds one file may take (fetch and verify); None: no limit (the CLI's default).
    item_timeout: float | None = None
    s3_endpoint: str | None = None
    # Where bucket-prefix rows (IDC series, s3://bucket/<uuid>/*) are listed and fetched,
    # anonymously: None is HTAN_CDS_BUCKET_ENDPOINT or AWS (see transfer.buckets).
    bucket_endpoint: str | None = None
    # crdc_series_uuid -> series metadata (collection_id, HTAN_Participant_ID,
    # SeriesInstanceUID) for the DEST/<collection>/<participant>/<series>/ layout.
    series_lookup: SeriesLookup | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    verify_attempts: int = 3
    # Digests verified while downloading when the object declares them (hashlib names), and
    # whether to compute every declared one or only the strongest (one strong digest already
    # proves the bytes; md5 on top costs more CPU than sha-256 itself on SHA-NI machines).
    algorithms: tuple[str, ...] = ("sha256", "md5")
    verify_all: bool = False
    # Fail files no declared checksum could verify (instead of "done, unverified").
    require_verified: bool = False
    state_dir: Path | None = None
    # None: read from the data home's config.toml (htan_cds.settings.drs_settings).
    registry: PrefixRegistry | None = None
    endpoints: EndpointMap | None = None
    public_cloud: PublicCloud | None = None
    identifiers_url: str | None = None
    n2t_url: str | None = None
    prefix_cache: Path | None = None
    check_free_space: bool = True
    request_timeout: float = 60.0

    def validate(self) -> None:
        """Raise :class:`UsageError` for values that cannot work."""
        if self.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        if self.part_size < 64 * 1024:
            raise UsageError("--part-size must be at least 64KiB")
        if self.token and self.passport_file:
            raise UsageError("give either --token or --passport, not both")
        if self.token_hosts and not self.token:
            raise UsageError("--token-host needs --token")
        if self.verify_attempts < 1:
            raise UsageError("verify_attempts must be at least 1")

    @property
    def host_limit(self) -> int:
        """Concurrent byte requests per host."""
        return self.per_host or self.concurrency
