"""The content-addressed image cache shared by every series and format (the folders are
publisher/cache.py's):
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
from dataclasses import asdict, dataclass
from pathlib import Path

from ..cache import Cache, default_root  # noqa: F401 - default_root: for code written before cache.py
from ..files import atomic_path, atomic_write  # noqa: F401 - moved to files.py; kept here for older imports


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


class ImageCache(Cache):
    """Objects by content hash, and the URL index that points at them."""

    def object_path(self, sha: str) -> Path:
        return self.use(self.folder("objects") / sha[:2] / sha)

    def _index_path(self, url: str) -> Path:
        key = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
        return self.use(self.folder("urls") / key[:2] / f"{key}.json")

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
        return self.use(self.folder("derived") / key[:2] / key)

    def url_entries(self):
        """Every URL index entry (for pruning)."""
        for path in sorted(self.folder("urls").glob("*/*.json")):
            try:
                yield path, CacheEntry(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError):
                yield path, None
