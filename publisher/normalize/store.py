"""Normalized episodes kept on disk, keyed by everything that decides them: the post as read,
its key in the book, the settings the normalizer reads, and the normalizer's own source code.
A warm build loads episodes from here instead of normalizing them again.

Stored as JSON (never pickle: the cache folder may be shared), written atomically.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from ..cache import Cache, code_version
from ..errors import Problem
from ..files import atomic_write
from ..sources import SourceEpisode
from . import Episode, TocEntry

PACKAGE = Path(__file__).resolve().parent.parent


# changes whenever the code that turns a post into an Episode changes
CODE_VERSION = code_version(*sorted(PACKAGE.glob("normalize/*.py")), PACKAGE / "sources.py", PACKAGE / "images" / "urls.py")


class EpisodeStore:
    def __init__(self, cache: Cache):
        self.cache = cache
        self.root = cache.folder("episodes")

    def path(self, digest: str) -> Path:
        return self.cache.use(self.root / digest[:2] / f"{digest}.json")

    @staticmethod
    def key(source: SourceEpisode, key: str, unwrap: tuple[str, ...], language: str) -> str:
        # the SourceEpisode is all normalize() reads of the post: no need to read the file again
        payload = [CODE_VERSION, key, list(unwrap), language, asdict(source)]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()

    def load(self, digest: str) -> Episode | None:
        try:
            data = json.loads(self.path(digest).read_text(encoding="utf-8"))
            return _episode(data)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, digest: str, episode: Episode) -> None:
        data = asdict(episode)
        data["source"]["path"] = str(episode.source.path)
        data["source"]["date"] = episode.source.date.isoformat() if episode.source.date else None
        atomic_write(self.path(digest), json.dumps(data, ensure_ascii=False).encode("utf-8"))


def _toc(data: dict) -> TocEntry:
    return TocEntry(data["id"], data["title"], data["level"], tuple(_toc(c) for c in data["children"]))


def _episode(data: dict) -> Episode:
    s = data["source"]
    source = SourceEpisode(**{**s, "path": Path(s["path"]), "categories": tuple(s["categories"]),
                              "date": dt.datetime.fromisoformat(s["date"]) if s["date"] else None,
                              "warnings": tuple(Problem(**w) for w in s["warnings"])})
    return Episode(**{**data, "source": source, "sections": tuple(_toc(t) for t in data["sections"]),
                      "image_urls": tuple(data["image_urls"]), "warnings": tuple(Problem(**w) for w in data["warnings"])})
