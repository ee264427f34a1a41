"""The content-addressed disk cache shared by every series and format.

Layout under the cache root (PUBLISHER_CACHE, else the user's cache folder):
    objects/ab/abcd…           image bytes, named by their sha256
    urls/12/1234….json         what a URL gave: url, final_url, type, size, sha256, width,
                               height, fetched_at
    derived/…                  images prepared for a format (e.g. scaled for e-readers)
Every write goes to a temporary file in the same folder and is renamed into place, so a build
killed at any moment leaves complete entries only. Reads verify the sha256: a damaged object
is treated as absent and fetched again.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path


def default_root() -> Path:
    if env := os.environ.get("PUBLISHER_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "publisher"


@contextmanager
def atomic_path(path: Path):
    """A temporary path in `path`'s folder to write to; renamed onto `path` when the block
    succeeds, removed when it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder, then rename."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


@dataclass(frozen=True)
class CacheEntry:
    url: str
    final_url: str
    type: str  # media type decided from the bytes
    size: int
    sha256: str
    width: int
    height: int
    fetched_at: str


class ImageCache:
    """Objects by content hash, and the URL index that points at them."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_root()

    def object_path(self, sha: str) -> Path:
        return self.root / "objects" / sha[:2] / sha

    def _index_path(self, url: str) -> Path:
        key = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
        return self.root / "urls" / key[:2] / f"{key}.json"

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self.object_path(sha)
        if not self._valid(path, sha):
            atomic_write(path, data)
        return sha

    def record(self, entry: CacheEntry) -> None:
        atomic_write(self._index_path(entry.url), json.dumps(asdict(entry), ensure_ascii=False).encode())

    def lookup(self, url: str) -> CacheEntry | None:
        """The cached entry for `url`, or None when absent or damaged."""
        try:
            entry = CacheEntry(**json.loads(self._index_path(url).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None
        return entry if self._valid(self.object_path(entry.sha256), entry.sha256) else None

    def read(self, sha: str) -> bytes:
        return self.object_path(sha).read_bytes()

    @staticmethod
    def _valid(path: Path, sha: str) -> bool:
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest() == sha
        except OSError:
            return False

    def derived(self, key: str) -> Path:
        return self.root / "derived" / key[:2] / key

    def url_entries(self):
        """Every URL index entry (for pruning)."""
        for path in sorted((self.root / "urls").glob("*/*.json")):
            try:
                yield path, CacheEntry(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                yield path, None
