"""Files on a local disk, written atomically (temp file, fsync, rename).

A file is written once and read seldom (a photo's original is read again only for its lazy
display variant; a receipt PDF when somebody downloads it), so once it is on disk its pages
are dropped from the page cache (``POSIX_FADV_DONTNEED``): the cache stays for what is hot,
and the next file's write reuses the freed pages instead of taking fresh ones. On this
project's VM that is 4.3 → 0.5 ms of CPU for a 1.8 MB photo (issue 16; a VM pays the host
for each guest page it touches first; on bare metal the difference is smaller)."""
import os
import tempfile
from pathlib import Path

from .base import Storage, StorageError


def drop_cached(fd: int) -> None:
    """Drop a synced file's pages from the page cache, where the system can."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


class LocalStorage(Storage):
    def __init__(self, root: str):
        self.root = Path(root)
        self._resolved_root = None

    def _path(self, key: str) -> Path:
        # The root is resolved once (issue 16: an upload asks four paths, and resolving the
        # root again each time was half the lstat calls); the key's path every time.
        if self._resolved_root is None:
            self._resolved_root = self.root.resolve()
        path = (self._resolved_root / key).resolve()
        if self._resolved_root not in path.parents:
            raise ValueError(f"Storage key escapes the root: {key!r}")
        return path

    def put(self, key, data, content_type="application/octet-stream"):
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                    drop_cached(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise StorageError(f"could not write {key}: {exc.strerror}") from exc

    def get(self, key):
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def open(self, key):
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise KeyError(key) from None

    def stream(self, key, chunk_size=64 * 1024):
        with self.open(key) as fh:
            while chunk := fh.read(chunk_size):
                yield chunk

    def exists(self, key):
        return self._path(key).is_file()

    def delete(self, key):
        try:
            self._path(key).unlink()
        except FileNotFoundError:
            pass
