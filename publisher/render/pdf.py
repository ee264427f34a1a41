"""Book -> the PDF book (screen or press) and A4 handouts, with WeasyPrint.

Recipe for the book: lay out the body (every episode, each opening on a recto) as one
document; read from its pages where each chapter and section landed; lay out the front matter
(title page, colophon, 目录 with those page numbers) last, padded to an even count so the body
starts on a recto; write both as one PDF; add /PageLabels (roman front matter, arabic body).
The press variant adds bleed, crop marks and a PDF/X-4 output intent.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from weasyprint import CSS, HTML

from ..book import Book, Chapter
from ..errors import Problem
from ..images.cache import ImageCache, atomic_write
from ..manifest import PdfSettings
from ..normalize import TocEntry
from ..themes import Theme
from .epub import byline
from .fetcher import LockedFetcher

PT_PER_MM = 72 / 25.4
CMYK_PROFILES = ("/usr/share/color/icc/ghostscript/default_cmyk.icc", "/usr/share/color/icc/ghostscript/ps_cmyk.icc")


@dataclass(frozen=True)
class Geometry:
    width_mm: float
    height_mm: float
    font_pt: float
    chars: int
    inner: float  # points
    outer: float
    top: float
    bottom: float
    text_width: float
    text_height: float
    bleed: float  # millimetres, 0 for the screen


def geometry(settings: PdfSettings, press: bool, font_pt: float = 10.5) -> Geometry:
    """Margins that make the text block a whole number of characters wide."""
    width_mm, height_mm = settings.trim
    width = width_mm * PT_PER_MM
    height = height_mm * PT_PER_MM
    chars = math.floor(width * 0.78 / font_pt)
    text_width = chars * font_pt
    rest = width - text_width
    inner = round(rest * 0.54, 2)
    top, bottom = round(height * 0.095, 2), round(height * 0.1, 2)
    return Geometry(width_mm, height_mm, font_pt, chars, inner, round(rest - inner, 2), top, bottom,
                    text_width, round(height - top - bottom - 24, 2), settings.bleed if press else 0.0)


def css_string(value: str) -> str:
    """Escape text for a CSS string (also against closing a <style> element)."""
    return re.sub(r'["\\<>\n\r]', lambda m: "\\%x " % ord(m.group(0)), value)


def _view(chapter: Chapter, book: Book, cache: ImageCache) -> dict:
    """What the templates need of a chapter, images pointing into the cache."""
    return {"key": chapter.key, "number": chapter.number, "title": chapter.title, "lang": chapter.lang,
            "author": chapter.author, "byline": byline(chapter),
            "body": chapter.body_with(lambda key: cache.object_path(book.assets[key].sha256).as_uri())}


def _fetcher(cache: ImageCache, theme: Theme, profile: str | None = None) -> LockedFetcher:
    """Renders may read the cached images, the theme, and the colour profile; nothing else."""
    return LockedFetcher([cache.root / "objects", *theme.folders] + ([Path(profile).parent] if profile else []))


def _html(markup: str, fetcher: LockedFetcher) -> HTML:
    # base_url is a folder with nothing in it: relative references in a post resolve to nothing
    return HTML(string=markup, base_url="file:///nonexistent/", url_fetcher=fetcher)


def write_book_pdf(book: Book, path: Path, theme: Theme, cache: ImageCache, press: bool) -> list[Problem]:
    theme.env.filters["css_string"] = css_string
    g = geometry(book.manifest.pdf, press)
    created = book.modified.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    profile = _cmyk_profile() if press else None
    fetcher = _fetcher(cache, theme, profile)
    base_css = theme.css("pdf.css")
    if profile:  # PDF/X needs a CMYK characterisation; `components` avoids a crash in v70 (ENGINES.md)
        base_css += f"\n@color-profile device-cmyk {{ src: url({Path(profile).as_uri()}); components: cyan, magenta, yellow, black }}\n"
    profiles: dict = {}

    def render(markup: str, front: bool):
        styles = [CSS(string=theme.render("pdf/pages.css", g=g, book=book, front=front), url_fetcher=fetcher),
                  CSS(string=base_css, url_fetcher=fetcher, color_profiles=profiles)]
        return _html(markup, fetcher).render(stylesheets=styles, color_profiles=profiles)

    chapters = [_view(c, book, cache) for c in book.chapters]
    body_doc = render(theme.render("pdf/body.html", book=book, chapters=chapters, created=created), False)
    where = {name: i + 1 for i, page in enumerate(body_doc.pages) for name in page.anchors}
    toc = [_toc_entry(c, where) for c in book.chapters]
    build_date = book.modified.astimezone(dt.timezone.utc).strftime("%Y-%m-%d")

    def front(pad: bool):
        return render(theme.render("pdf/front.html", book=_FrontBook(book, chapters), toc=toc,
                                   build_date=build_date, pad=pad), True)

    front_doc = front(False)
    if len(front_doc.pages) % 2:
        front_doc = front(True)
    document = front_doc.copy(front_doc.pages + body_doc.pages)
    options = {"pdf_identifier": book.identifier.encode()[:32]}
    if press and profile:
        options["pdf_variant"] = "pdf/x-4"
    data = document.write_pdf(**options)
    atomic_write(path, _page_labels(data, len(front_doc.pages)))
    return low_resolution(book, g) if press else []


class _FrontBook:
    """The book as the front-matter template sees it: chapter bylines precomputed."""

    def __init__(self, book: Book, chapters: list[dict]):
        self._book = book
        self.chapters = chapters

    def __getattr__(self, name):
        return getattr(self._book, name)


def _toc_entry(chapter: Chapter, where: dict) -> dict:
    def entry(e: TocEntry) -> dict:
        return {"id": e.id, "title": e.title, "page": where.get(e.id, ""), "children": []}
    return {"id": chapter.key, "title": chapter.title, "page": where.get(chapter.key, ""),
            "children": [entry(e) for e in chapter.toc]}


def _page_labels(data: bytes, front_pages: int) -> bytes:
    """Roman folios for the front matter, arabic from 1 for the body (PDF 1.7 §12.4.2)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        nums = [0, pikepdf.Dictionary(S=pikepdf.Name.r)] if front_pages else []
        nums += [front_pages, pikepdf.Dictionary(S=pikepdf.Name.D)]
        pdf.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array(nums))
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue()


def _cmyk_profile() -> str | None:
    return next((p for p in CMYK_PROFILES if Path(p).is_file()), None)


def low_resolution(book: Book, g: Geometry) -> list[Problem]:
    """Images that will print below [pdf] min-ppi at the width they are placed."""
    problems = []
    for chapter in book.chapters:
        for key, width_attr in re.findall(r'<img src="asset:([0-9a-f]+)" alt="[^"]*"(?: width="(\d+)")?', chapter.body):
            asset = book.assets[key]
            css_width = int(width_attr) if width_attr else asset.width
            placed_pt = min(g.text_width, css_width * 0.75)
            ppi = asset.width / (placed_pt / 72) if placed_pt else 0
            if ppi < book.manifest.pdf.min_ppi:
                problems.append(Problem(
                    "image", f"low resolution: {asset.urls[0]} will print at {ppi:.0f} ppi "
                    f"({asset.width} px across {placed_pt / PT_PER_MM:.0f} mm; {book.manifest.pdf.min_ppi} ppi wanted)",
                    str(chapter.source)))
    return problems


def write_handout(chapter: Chapter, book: Book, path: Path, theme: Theme, cache: ImageCache) -> None:
    theme.env.filters["css_string"] = css_string
    view = _view(chapter, book, cache)
    header = book.title + (f" · 第 {chapter.number} 期" if chapter.number is not None else "")
    created = book.modified.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    g = geometry(PdfSettings(trim=(210.0, 297.0)), press=False, font_pt=11)
    page_css = theme.render("pdf/handout-pages.css", header=header, byline=view["byline"], g=g)
    markup = theme.render("pdf/handout.html", chapter=view, series=book.title, created=created)
    fetcher = _fetcher(cache, theme)
    doc = _html(markup, fetcher).render(stylesheets=[CSS(string=theme.css("pdf.css"), url_fetcher=fetcher),
                                                     CSS(string=page_css, url_fetcher=fetcher)])
    atomic_write(path, doc.write_pdf())
