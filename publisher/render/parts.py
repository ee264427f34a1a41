"""A part of a PDF (one episode, the front matter, a blank page, the folio digits) -> its PDF
bytes and what the assembler needs to know of its pages; rendered by WeasyPrint in a pool of
processes and kept in the cache, keyed by everything that decides the result.

A `PartJob` is self-contained (markup, stylesheets, readable folders, writer options), so it can
be sent to another process; its key is the sha256 of all of it plus WeasyPrint's version.
"""
from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..images.cache import atomic_write
from .fetcher import LockedFetcher

PARTS_VERSION = 1


@dataclass(frozen=True)
class PartJob:
    name: str
    markup: str
    stylesheets: tuple[str, ...]
    roots: tuple[str, ...]  # folders the renderer may read
    options: tuple[tuple[str, object], ...] = ()  # write_pdf options
    profile_css: bool = False  # the last stylesheet declares @color-profile (press files)

    @property
    def key(self) -> str:
        import weasyprint
        payload = json.dumps([PARTS_VERSION, weasyprint.__version__, self.markup, self.stylesheets, self.roots,
                              [[k, str(v)] for k, v in self.options], self.profile_css], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RenderedPart:
    name: str
    data: bytes
    pages: int
    size: tuple[float, float]  # CSS px of the trim box
    anchors: dict = field(default_factory=dict)  # anchor -> (page index, x, y) in CSS px
    links: tuple = ()  # (page index, anchor, (x0, y0, x1, y1)) of internal links, CSS px
    cached: bool = False


def render_part(job: PartJob) -> RenderedPart:
    """Lay out and write one part with WeasyPrint (runs in a worker process)."""
    from weasyprint import CSS, HTML
    fetcher = LockedFetcher([Path(r) for r in job.roots])
    profiles: dict = {}
    styles = [CSS(string=css, url_fetcher=fetcher, color_profiles=profiles) for css in job.stylesheets]
    # base_url is a folder with nothing in it: relative references left in a post resolve to nothing
    doc = HTML(string=job.markup, base_url="file:///nonexistent/", url_fetcher=fetcher).render(
        stylesheets=styles, color_profiles=profiles)
    anchors = {name: (i, x, y) for i, page in enumerate(doc.pages) for name, (x, y, *_) in page.anchors.items()}
    links = tuple((i, target, tuple(rect)) for i, page in enumerate(doc.pages)
                  for kind, target, rect, _ in page.links if kind == "internal")
    data = doc.write_pdf(**dict(job.options))
    first = doc.pages[0]
    return RenderedPart(job.name, data, len(doc.pages), (first.width, first.height), anchors, links)


class PartCache:
    """Rendered parts on disk: cache/pdf/ab/abcd….pdf with a .json of their page facts."""

    def __init__(self, root: Path):
        self.root = Path(root) / "pdf"

    def _path(self, key: str, suffix: str) -> Path:
        return self.root / key[:2] / f"{key}{suffix}"

    def load(self, job: PartJob) -> RenderedPart | None:
        key = job.key
        try:
            meta = json.loads(self._path(key, ".json").read_text(encoding="utf-8"))
            data = self._path(key, ".pdf").read_bytes()
        except (OSError, ValueError):
            return None
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            return None
        return RenderedPart(job.name, data, meta["pages"], tuple(meta["size"]),
                            {k: tuple(v) for k, v in meta["anchors"].items()},
                            tuple((i, t, tuple(r)) for i, t, r in meta["links"]), cached=True)

    def save(self, job: PartJob, part: RenderedPart) -> None:
        key = job.key
        atomic_write(self._path(key, ".pdf"), part.data)
        meta = {"pages": part.pages, "size": part.size, "anchors": part.anchors, "links": part.links,
                "sha256": hashlib.sha256(part.data).hexdigest()}
        atomic_write(self._path(key, ".json"), json.dumps(meta, ensure_ascii=False).encode("utf-8"))


def render_all(jobs: list[PartJob], store: PartCache, workers: int, progress=None) -> list[RenderedPart]:
    """Every part, from the cache when unchanged, else laid out in `workers` processes."""
    results: dict[int, RenderedPart] = {}
    missing = []
    for index, job in enumerate(jobs):
        part = store.load(job)
        if part is None:
            missing.append(index)
        else:
            results[index] = part
    done = len(results)
    if progress:
        progress("pdf pages", done, len(jobs))
    if len(missing) > 1 and workers > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(missing))) as pool:
            rendered = pool.map(render_part, [jobs[i] for i in missing])
            for index, part in zip(missing, rendered):
                results[index] = _saved(store, jobs[index], part)
                done += 1
                if progress:
                    progress("pdf pages", done, len(jobs))
    else:
        for index in missing:
            results[index] = _saved(store, jobs[index], render_part(jobs[index]))
            done += 1
            if progress:
                progress("pdf pages", done, len(jobs))
    return [results[i] for i in range(len(jobs))]


def _saved(store: PartCache, job: PartJob, part: RenderedPart) -> RenderedPart:
    store.save(job, part)
    return part


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
