"""A folder of Hexo posts + a title pattern -> a new series folder (episodes and series.toml).

The posts whose titles match are copied into SERIES/episodes/ in episode-number order, and a
commented series.toml is written beside them. Posts that cannot be read are skipped and named.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import Problem, PublisherError
from .manifest import MANIFEST_NAME, slugify
from .sources import SourceEpisode, order_sources, read_source

MANIFEST_TEMPLATE = '''# Series manifest: see README for every key.
title = {title}
# subtitle = ""
language = "zh-CN"
# authors = []             # default: the authors credited in the episodes (本文由@…)
# publisher = ""
# description = ""
# cover = "cover.jpg"      # generated when absent
episodes = ["episodes/*.md"]
order = "number"           # number (digits after '#' in the title) | date | listed

[images]
# timeout = 20
# mirror = "mirror"        # local copies laid out host/path, consulted before the network

[pdf]
trim = "A5"                # A5 | B5 | 16K | "WIDTHmm HEIGHTmm"
bleed = "3mm"

[epub]
toc-depth = 2              # 1: episodes; 2: + sections; 3: + sub-sections
'''


@dataclass(frozen=True)
class Scaffold:
    manifest: Path
    episodes: tuple[SourceEpisode, ...]
    skipped: tuple[Problem, ...]


def new_series(target: Path, posts: Path, match: str, title: str | None = None) -> Scaffold:
    try:
        pattern = re.compile(match)
    except re.error as exc:
        raise PublisherError(f"--match {match!r} is not a regular expression: {exc}") from None
    if not posts.is_dir():
        raise PublisherError("is not a folder of posts", posts)
    if (target / MANIFEST_NAME).exists():
        raise PublisherError(f"already holds a {MANIFEST_NAME}; not overwriting it", target)
    found, skipped = [], []
    for path in sorted(posts.rglob("*.md")):
        try:
            source = read_source(path)
        except PublisherError as exc:
            skipped.append(Problem("source", exc.message, str(path)))
            continue
        if pattern.search(source.title):
            found.append(source)
    if not found:
        raise PublisherError(f"no post under {posts} has a title matching {match!r}")
    ordered = order_sources(found, "number")
    (target / "episodes").mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(ordered, 1):
        shutil.copyfile(source.path, target / "episodes" / f"{i:03d}-{slugify(source.title)[:60]}.md")
    title = title or _common_title(ordered) or target.name
    manifest = target / MANIFEST_NAME
    manifest.write_text(MANIFEST_TEMPLATE.format(title=_toml_string(title)), encoding="utf-8")
    return Scaffold(manifest, tuple(ordered), tuple(skipped))


def _common_title(sources) -> str:
    """'产品故事' from '产品故事#003_…' titles: what precedes the '#' when all agree."""
    heads = {s.title.split("#")[0].strip() for s in sources if "#" in s.title}
    return heads.pop() if len(heads) == 1 else ""


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
