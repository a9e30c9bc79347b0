"""Files in an S3-compatible object store (AWS S3, MinIO, OSS/COS S3 gateways).

``STORAGE_URL=s3://bucket/prefix``; ``S3_ENDPOINT_URL`` points at a non-AWS store and
the standard ``AWS_*`` variables carry credentials and region. Reads of large objects
stream from the response body instead of loading it whole.
"""
import threading

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .base import Storage, StorageError

_MISSING = ("404", "NoSuchKey", "NotFound")


class S3Storage(Storage):
    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None, client=None):
        if not bucket:
            raise ValueError("STORAGE_URL s3://… needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self):
        # Built lazily and once: boto3 clients are thread-safe, sessions are not.
        if self._client is None:
            with self._lock:
                if self._client is None:
                    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5,
                                    read_timeout=30, s3={"addressing_style": "path"} if self.endpoint_url else {})
                    self._client = boto3.session.Session().client("s3", endpoint_url=self.endpoint_url, config=config)
        return self._client

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"Storage key escapes the root: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key, data, content_type="application/octet-stream"):
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not write {key}: {exc}") from exc

    def _get_object(self, key):
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise KeyError(key) from None
            raise StorageError(f"could not read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not read {key}: {exc}") from exc

    def get(self, key):
        body = self._get_object(key)["Body"]
        try:
            return body.read()
        finally:
            body.close()

    def open(self, key):
        # botocore's StreamingBody reads from the socket as the caller reads.
        return self._get_object(key)["Body"]

    def stream(self, key, chunk_size=64 * 1024):
        body = self._get_object(key)["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def exists(self, key):
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise StorageError(f"could not stat {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"could not stat {key}: {exc}") from exc

    def delete(self, key):
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise StorageError(f"could not delete {key}: {exc}") from exc
