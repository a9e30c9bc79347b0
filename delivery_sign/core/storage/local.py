"""Files on a local disk, written atomically (temp file, fsync, rename).

A file is written once and read seldom (a photo's original is read again only for its lazy
display variant; a receipt PDF when somebody downloads it), so once it is on disk its pages
are dropped from the page cache (``POSIX_FADV_DONTNEED``): the cache stays for what is hot,
and the next file's write reuses the freed pages instead of taking fresh ones. On this
project's VM that is 4.3 → 0.5 ms of CPU for a 1.8 MB photo (issue 16; a VM pays the host
for each guest page it touches first; on bare metal the difference is smaller).

The rename is made durable too: the file's folder is synced after it, and each folder the
write had to create is synced into its parent, so a power cut right after an upload's
answer cannot leave a receipt row whose file's name never reached the disk. (Measured on
ext4 here: the folder's sync costs no CPU to speak of, as the file's own sync has already
committed the journal.)"""
import os
import tempfile
from pathlib import Path

from werkzeug.security import safe_join

from .base import Storage, StorageError


def sync_folder(path) -> None:
    """fsync a folder, so the names made in it (a rename, a new sub-folder) are on disk."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def drop_cached(fd: int) -> None:
    """Drop a synced file's pages from the page cache, where the system can."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


class LocalStorage(Storage):
    def __init__(self, root: str):
        self.root = Path(root)
        self._resolved_root = None

    def _path(self, key: str) -> Path:
        # Checked by its letters (werkzeug's safe_join: no "..", no absolute path, no
        # separator of another system), not by asking the disk: keys are the app's own
        # (content-addressed), and nothing but the app writes under the root. Resolving
        # every path took an lstat per folder, 0.045 ms, four times an upload (issue 16).
        if self._resolved_root is None:
            self._resolved_root = self.root.resolve()
        joined = safe_join(str(self._resolved_root), key)
        if joined is None or Path(joined) == self._resolved_root:
            raise ValueError(f"Storage key escapes the root: {key!r}")
        return Path(joined)

    def put(self, key, data, content_type="application/octet-stream"):
        path = self._path(key)
        try:
            made = self._make_folders(path.parent)
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
            sync_folder(path.parent)
            for folder in made:   # deepest first: each new folder's name, in its parent
                sync_folder(folder.parent)
        except OSError as exc:
            raise StorageError(f"could not write {key}: {exc.strerror}") from exc

    @staticmethod
    def _make_folders(folder: Path) -> list[Path]:
        """Make ``folder`` and its missing parents; the ones made, deepest first."""
        if folder.is_dir():
            return []
        made = []
        while not folder.exists():
            made.append(folder)
            folder = folder.parent
        for new in reversed(made):
            new.mkdir(exist_ok=True)   # a concurrent write may have made it: fine
        return made

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
