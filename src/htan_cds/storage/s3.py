"""S3-compatible object store (AWS, MinIO, moto): content-addressed keys, presigned URLs.

Keys mirror the local layout under an optional prefix: ``<prefix>/ab/cd/<sha256>``.
"""

from __future__ import annotations

import hashlib
import io
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from htan_cds.errors import ObjectNotFound, StorageError, UsageError
from htan_cds.storage.base import StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_KEY_RE = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


def parse_s3_url(url: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of ``s3://bucket[/prefix]`` (prefix without slashes at the ends)."""
    if not url.startswith("s3://"):
        raise UsageError(f"not an s3:// URL: {url!r}")
    bucket, _, prefix = url[5:].partition("/")
    if not re.match(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", bucket):
        raise UsageError(f"{url!r}: {bucket!r} is not a valid S3 bucket name")
    return bucket, prefix.strip("/")


class S3ObjectStore:
    """Objects in an S3 bucket; reads and presigned URLs, writes for ingest and tests."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                config=Config(signature_version="s3v4", retries={"max_attempts": 3}),
            )
        self.client: S3Client = client
        self.region = region or client.meta.region_name

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> S3ObjectStore:
        """A store for ``s3://bucket/prefix`` (credentials from the usual AWS sources)."""
        bucket, prefix = parse_s3_url(url)
        return cls(bucket, prefix, endpoint_url=endpoint_url)

    def s3_key(self, key: str) -> str:
        """The S3 object key holding the object whose sha-256 is ``key``."""
        if not _KEY_RE.match(key):
            raise ObjectNotFound(f"not an object key: {key[:80]!r}")
        rel = f"{key[:2]}/{key[2:4]}/{key}"
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def s3_url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.s3_key(key)}"

    def _head(self, key: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return dict(self.client.head_object(Bucket=self.bucket, Key=self.s3_key(key)))
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                raise ObjectNotFound(f"no object {key} in s3://{self.bucket}") from exc
            raise StorageError(f"S3 refused HEAD of {key}: {code}") from exc

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except ObjectNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def open(self, key: str) -> BinaryIO:
        """The object's bytes (read whole into memory: meant for small objects and tests)."""
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.s3_key(key))["Body"]
        except ClientError as exc:
            raise ObjectNotFound(f"no object {key} in s3://{self.bucket}") from exc
        return io.BytesIO(body.read())

    def put_file(self, path: Path, *, private: bool = False) -> StoredObject:
        with Path(path).open("rb") as fh:
            return self.put_stream(fh, private=private)

    def put_stream(self, stream: BinaryIO, *, private: bool = False) -> StoredObject:
        # Bucket objects are private unless a bucket policy says otherwise: ``private`` needs
        # nothing more here (the commons hands out presigned URLs only after its access check).
        del private
        sha = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        # The key is the digest, known only at the end: spool to disk first.
        with tempfile.TemporaryFile() as spool:
            while chunk := stream.read(_CHUNK):
                sha.update(chunk)
                md5.update(chunk)
                spool.write(chunk)
                size += len(chunk)
            spool.seek(0)
            key = sha.hexdigest()
            if not self.exists(key):
                try:
                    self.client.upload_fileobj(spool, self.bucket, self.s3_key(key))
                except Exception as exc:
                    raise StorageError(f"cannot upload to s3://{self.bucket}: {exc}") from exc
        return StoredObject(key=key, size=size, md5=md5.hexdigest(), sha256=key)

    def presigned_url(self, key: str, ttl: int, filename: str | None = None) -> str:
        """A presigned GET URL valid for ``ttl`` seconds."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.s3_key(key)}
        if filename:
            params["ResponseContentDisposition"] = (
                f"attachment; filename*=utf-8''{quote(filename, safe='')}"
            )
        return str(
            self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=int(ttl))
        )
