"""The storage interface every backend implements."""
from typing import BinaryIO, Iterator


class StorageError(Exception):
    """The store could not write or read (disk full, read-only, unreachable)."""


class Storage:
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        raise NotImplementedError

    def get(self, key: str) -> bytes:
        raise NotImplementedError

    def stream(self, key: str, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:
        raise NotImplementedError
