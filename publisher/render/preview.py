"""Book -> the pages `publisher serve` shows: a home page, each chapter as the EPUB has it, and
the PDF's own pages as PNG images.

A chapter page is the EPUB's chapter document (the theme's `epub/chapter.xhtml` with the same
body and `epub.css`), with the preview's bar and live-reload script added to it; the page view
shows the pages of the real PDF, rasterised by poppler's `pdftoppm`, so the page breaks are the
book's and not an imitation. The preview's own markup is in the theme's `preview/` templates.
"""
from __future__ import annotations

import hashlib
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from lxml import etree

from ..book import Book, Chapter
from ..errors import Problem, PublisherError
from ..files import atomic_path
from ..themes import Theme

XHTML = "http://www.w3.org/1999/xhtml"
PAGE_DPI = 144  # 1.5 device pixels per CSS pixel: sharp on most screens, ~150 KB a page
RENDERERS = threading.BoundedSemaphore(2)  # pdftoppm processes at once (a browser asks for six)


@dataclass(frozen=True)
class Status:
    """What every preview page tells about the build it shows."""

    book_version: int
    pdf_version: int
    error: str  # why the last build failed; "" when it went through
    warnings: tuple[Problem, ...]
    pdf_pending: bool  # a newer PDF is being laid out
    root: Path  # the series folder: paths are shown relative to it
    names: dict  # chapter key -> the chapter's name in URLs (from its file: stable while it is edited)


@dataclass(frozen=True)
class PdfView:
    """A laid-out PDF and where each chapter's pages are in it."""

    path: Path
    digest: str  # names its page images, so a browser never mixes pages of two builds
    labels: tuple[str, ...]  # each page's label (i, ii … 1, 2 …) as /PageLabels give it
    ranges: dict  # chapter source file -> (first page index, index after its last page)
    size: tuple[int, int]  # pixels of a page image at PAGE_DPI


def read_pdf(path: Path, book: Book) -> PdfView:
    """The book PDF -> its page labels and the pages of each chapter, from its bookmarks (the
    last top-level ones are the chapters, in order; see render/assemble.py `_outline`)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:24]
    with pikepdf.open(path) as pdf:
        labels = tuple(page.label for page in pdf.pages)
        with pdf.open_outline() as outline:
            tops = list(outline.root)[-len(book.chapters):] if book.chapters else []
            starts = [pikepdf.Page(item.destination[0]).index for item in tops]
        box = pdf.pages[0].trimbox if pdf.pages else [0, 0, 0, 0]
    ends = starts[1:] + [len(labels)]
    ranges = {c.source: (s, e) for c, s, e in zip(book.chapters, starts, ends)}
    size = (round(float(box[2] - box[0]) / 72 * PAGE_DPI), round(float(box[3] - box[1]) / 72 * PAGE_DPI))
    return PdfView(path, digest, labels, ranges, size)


def page_image(view: PdfView, index: int, folder: Path) -> Path:
    """Page `index` of the PDF as a PNG, rendered once by pdftoppm and kept in `folder`."""
    target = folder / view.digest / f"{index + 1}.png"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with RENDERERS, atomic_path(target) as temporary:
        prefix = temporary.with_suffix("")
        try:
            subprocess.run(["pdftoppm", "-png", "-r", str(PAGE_DPI), "-f", str(index + 1), "-l", str(index + 1),
                            "-singlefile", str(view.path), str(prefix)], check=True, capture_output=True, timeout=60)
        except FileNotFoundError:
            raise PublisherError("the page view needs pdftoppm: install poppler-utils") from None
        prefix.with_suffix(".png").replace(temporary)
    return target


def home_page(book: Book | None, theme: Theme, status: Status, view: PdfView | None) -> bytes:
    return theme.render("preview/home.html", book=book, status=status, view=view, names=status.names,
                        head=_head(theme, status, pdf=True), bar=_bar(theme, book, None, status, "home")).encode()


def chapter_page(book: Book, chapter: Chapter, theme: Theme, status: Status) -> bytes:
    """The EPUB's chapter document, whole (never split), with the preview's head and bar added."""
    document = theme.render("epub/chapter.xhtml", chapter=chapter, body=chapter.body_with(lambda key: f"images/{key}"),
                            byline=chapter.byline, continued=False)
    root = etree.fromstring(document.encode("utf-8"))
    head, body = root.find(f"{{{XHTML}}}head"), root.find(f"{{{XHTML}}}body")
    head.extend(_fragment(_head(theme, status, pdf=False)))
    for i, element in enumerate(_fragment(_bar(theme, book, chapter, status, "text"))):
        body.insert(i, element)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")


def pages_page(book: Book, chapter: Chapter, theme: Theme, status: Status, view: PdfView | None) -> bytes:
    """The chapter's pages in the PDF, in spreads: the opening recto alone on the right."""
    first, end = view.ranges.get(chapter.source, (0, 0)) if view else (0, 0)
    facing = [first - 1] if first % 2 == 0 and 0 < first < end else []  # the verso the opening faces, dimmed
    pages = [{"index": i, "label": view.labels[i], "recto": i % 2 == 0, "facing": i < first}
             for i in facing + list(range(first, end))]
    return theme.render("preview/pages.html", book=book, chapter=chapter, status=status, view=view, pages=pages,
                        head=_head(theme, status, pdf=True), bar=_bar(theme, book, chapter, status, "pages")).encode()


def missing_page(book: Book | None, theme: Theme, status: Status, message: str) -> bytes:
    return theme.render("preview/missing.html", book=book, status=status, message=message,
                        head=_head(theme, status, pdf=False), bar=_bar(theme, book, None, status, "missing")).encode()


def _head(theme: Theme, status: Status, pdf: bool) -> str:
    return theme.render("preview/head.html", status=status, pdf=pdf)


def _bar(theme: Theme, book: Book | None, chapter: Chapter | None, status: Status, view: str) -> str:
    """The preview's bar: where you are, the neighbours, the build's state and warnings."""
    chapters = book.chapters if book else ()
    at = next((i for i, c in enumerate(chapters) if chapter and c.key == chapter.key), None)
    previous = chapters[at - 1] if at else None
    following = chapters[at + 1] if at is not None and at + 1 < len(chapters) else None
    source = str(chapter.source) if chapter else None
    own = [w for w in status.warnings if source and (w.where == source or w.where.startswith(source + ":"))]
    shown = [str(w).replace(f"{status.root}/", "") for w in own + [w for w in status.warnings if w not in own]]
    return theme.render("preview/bar.html", book=book, chapter=chapter, status=status, view=view, previous=previous,
                        following=following, warnings=shown, names=status.names)


def _fragment(markup: str) -> list:
    """Preview markup -> XHTML elements; `recover` drops what XML cannot hold (a control
    character quoted in an error message), so the page still shows."""
    parser = etree.XMLParser(recover=True)
    return list(etree.fromstring(f'<div xmlns="{XHTML}">{markup}</div>'.encode("utf-8"), parser))
