"""Access methods for objects kept in S3: ``s3`` (the bucket URL) and ``https`` (presigned)."""

from __future__ import annotations

from typing import Any

from htan_cds.server.config import ServerConfig
from htan_cds.server.objects import FileRecord
from htan_cds.storage.s3 import S3ObjectStore


class S3Access:
    """Bytes never pass through the app: clients get presigned URLs straight to the bucket."""

    def __init__(self, config: ServerConfig, store: S3ObjectStore) -> None:
        self.config = config
        self.store = store

    def methods(self, rec: FileRecord) -> list[dict[str, Any]]:
        if not rec.object_key:
            return []
        s3: dict[str, Any] = {"type": "s3", "access_id": "s3", "cloud": "aws", "available": True}
        if self.store.region:
            s3["region"] = self.store.region
        return [s3, {"type": "https", "access_id": "https", "available": True}]

    def access_url(self, rec: FileRecord, access_id: str) -> dict[str, Any] | None:
        if not rec.object_key:
            return None
        if access_id == "s3":
            # For clients inside the cloud with their own credentials (e.g. aws s3 cp).
            return {"url": self.store.s3_url(rec.object_key)}
        if access_id == "https":
            ttl = self.config.access_ttl
            return {"url": self.store.presigned_url(rec.object_key, ttl, rec.name)}
        return None
