"""Book -> an A4 handout per episode (a file of its own, with its own font subsets), laid out
in the pool and kept in the part cache like the book's parts."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..book import Book, Chapter
from ..cache import Cache
from ..files import atomic_write
from ..images.cache import ImageCache
from ..manifest import PdfSettings
from ..themes import Theme
from .parts import PartCache, PartJob, default_workers, render_all
from .pdf import Geometry, chapter_view, css_string, geometry, pdf_image

# A4 reads best at 35-40 characters a line (TYPOGRAPHY.md): 38 of 12 pt, a 161 mm block.
HANDOUT_FONT_PT, HANDOUT_CHARS = 12, 38


def write_handouts(book: Book, chapters: list[tuple[Chapter, Path]], theme: Theme, cache: ImageCache,
                   workers: int | None = None, progress=None) -> None:
    """An A4 handout per (chapter, path): laid out in the pool and kept in the part cache like
    the book's parts (keyed by markup, stylesheets and settings), so an unchanged handout is a
    copy of its cached PDF and a changed one is laid out alone. Handouts embed their own font
    subsets: each is a file of its own."""
    theme.env.filters["css_string"] = css_string
    images = {key: pdf_image(asset, cache, lossless=False).as_uri() for key, asset in book.assets.items()}
    g = geometry(PdfSettings(trim=(210.0, 297.0)), press=False, font_pt=HANDOUT_FONT_PT, chars=HANDOUT_CHARS)
    roots = (str(cache.root / "objects"), str(cache.root / "derived"), *(str(f) for f in theme.folders))
    jobs = [_handout_job(chapter, book, theme, images, g, roots, cache) for chapter, _ in chapters]
    parts = render_all(jobs, PartCache(cache), workers or default_workers(), progress, stage="handouts")
    for part, (_, path) in zip(parts, chapters):
        atomic_write(path, part.path.read_bytes())


def _handout_job(chapter: Chapter, book: Book, theme: Theme, images: dict, g: Geometry, roots: tuple,
                 cache: Cache) -> PartJob:
    """A handout's part. Dated when its own post last changed (clamped to the build's date, as
    reproducible builds clamp file times to SOURCE_DATE_EPOCH), so editing one post changes
    only its own handout's key."""
    view = chapter_view(chapter, book, images.get, cache)
    header = book.title + (f" · 第 {chapter.number} 期" if chapter.number is not None else "")
    created = min(book.modified, _changed(chapter.source) or book.modified)
    page_css = theme.render("pdf/handout-pages.css", header=header, byline=view["byline"], g=g)
    markup = theme.render("pdf/handout.html", chapter=view, series=book.title,
                          created=created.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return PartJob(f"handout-{chapter.key}", markup, (theme.css("pdf.css"), page_css), roots)


def _changed(path: Path) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(int(path.stat().st_mtime), dt.timezone.utc)
    except OSError:
        return None
