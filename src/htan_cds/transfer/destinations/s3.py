"""``s3://bucket/prefix`` destinations (AWS or any S3-compatible endpoint) via boto3.

Verified files are uploaded with multipart upload above 16 MiB and carry their digests as object
metadata (``x-amz-meta-sha256`` / ``-md5``), which lets a re-run recognise identical objects
without downloading them. Staging and the ledger live in a local cache folder keyed by the URL.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

from htan_cds.errors import StorageError, UsageError
from htan_cds.transfer.destinations.base import ExistingFile

_MULTIPART_THRESHOLD = 16 << 20
_MULTIPART_CHUNK = 16 << 20


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix")``."""
    if not url.startswith("s3://"):
        raise UsageError(f"{url!r} is not an s3:// URL")
    bucket, _, prefix = url[5:].partition("/")
    if not bucket:
        raise UsageError(f"{url!r} names no bucket")
    return bucket, prefix.strip("/")


class S3Destination:
    """Objects under ``s3://bucket/prefix``."""

    scheme = "s3"

    def __init__(
        self, url: str, *, endpoint_url: str | None = None, state_dir: Path | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.bucket, self.prefix = parse_s3_url(url)
        self.endpoint_url = endpoint_url
        self._state = state_dir
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The boto3 S3 client (imported lazily: boto3 is slow to import)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", endpoint_url=self.endpoint_url)
        return self._client

    def state_dir(self) -> Path:
        if self._state is not None:
            return self._state
        import platformdirs

        key = hashlib.sha1(f"{self.endpoint_url}|{self.url}".encode()).hexdigest()[:16]
        cache = Path(platformdirs.user_cache_dir("htan-cds", appauthor=False))
        return cache / "imports" / f"s3-{self.bucket}-{key}"

    def key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def display(self, rel: str) -> str:
        return f"s3://{self.bucket}/{self.key(rel)}"

    def preflight(self) -> None:
        """Before anything is resolved: the bucket answers with these credentials (one clear
        line for missing credentials, a wrong --s3-endpoint, a missing bucket)."""
        from htan_cds.s3errors import check_bucket

        check_bucket(self.client, self.bucket, self.endpoint_url)

    def existing(self, rel: str) -> ExistingFile | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.key(rel))
        except BotoCoreError as exc:  # no credentials, endpoint gone: the file fails, with why
            raise StorageError(f"cannot check {self.display(rel)}: {exc}") from exc
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StorageError(f"cannot check {self.display(rel)}: {exc}") from exc
        meta = {k.lower(): v.lower() for k, v in (head.get("Metadata") or {}).items()}
        return ExistingFile(size=int(head["ContentLength"]), digests=meta)

    def digest(self, rel: str, algorithm: str) -> str | None:
        found = self.existing(rel)
        return found.digests.get(algorithm) if found else None

    def commit(self, staged: Path, rel: str, digests: dict[str, str]) -> None:
        from boto3.s3.transfer import TransferConfig
        from botocore.exceptions import BotoCoreError, ClientError

        config = TransferConfig(
            multipart_threshold=_MULTIPART_THRESHOLD,
            multipart_chunksize=_MULTIPART_CHUNK,
            max_concurrency=4,
        )
        try:
            self.client.upload_file(
                str(staged),
                self.bucket,
                self.key(rel),
                ExtraArgs={"Metadata": dict(digests)},
                Config=config,
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"upload to {self.display(rel)} failed: {exc}") from exc
        os.unlink(staged)

    def free_space(self) -> int | None:
        # The bucket is unbounded; staging needs room for the files in flight only.
        return None

    def staging_free_space(self) -> int:
        """Free bytes where files are staged before upload."""
        probe = self.state_dir()
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        return shutil.disk_usage(probe).free
