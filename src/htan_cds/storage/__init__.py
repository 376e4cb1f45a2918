"""Object stores for the bytes a commons serves: local folder or S3-compatible bucket."""

from htan_cds.storage.base import ObjectStore, StoredObject
from htan_cds.storage.local import LocalObjectStore

__all__ = ["LocalObjectStore", "ObjectStore", "StoredObject"]
