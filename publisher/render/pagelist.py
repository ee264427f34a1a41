"""The print edition's layout -> where its pages begin in the EPUB (page-break markers, page list).

Every top-level block of a chapter body carries an id (`book.number_blocks`), so the PDF's
laid-out parts say on which page, and how far down, each block starts. A printed page begins
inside the block that holds the top of its text: its page-break marker goes right before that
block. Precision is the paragraph: a reader who follows page 37 lands at the start of the
paragraph in which page 37 begins (at most that paragraph early). A chapter's first page begins
at the chapter's head. Numbers are the printed folios (the body counts from 1, as the 目录 does).

EPUB 3 Structural Semantics `pagebreak`, DPUB-ARIA `doc-pagebreak`; EPUB Accessibility 1.1
§ page navigation: a page list and the source of its pagination named in the package.
"""
from __future__ import annotations

import re

from lxml import etree

from ..book import Book, PrintPages
from .parts import RenderedPart

TOP_SLACK = 2.0  # CSS px: a block starting this close to the page's first block starts the page


def print_pages(book: Book, parts: list[RenderedPart], source: str) -> PrintPages:
    """The print edition's page breaks from its laid-out chapter parts (in book order)."""
    from .assemble import body_layout  # pikepdf (0.06 s) is not loaded for an EPUB alone
    starts = body_layout(parts)
    return PrintPages(source, {c.key: page_breaks(block_ids(c.body), part.anchors, part.pages, start + 1)
                               for c, part, start in zip(book.chapters, parts, starts)})


def print_source(book: Book, press: bool) -> str:
    """How the EPUB names the print edition its page numbers come from."""
    width, height = book.manifest.pdf.trim
    return f"{book.title} · {'印刷版' if press else 'PDF 版'}（{width:g} × {height:g} mm）"


def block_ids(body: str) -> list[str]:
    """The ids of a chapter body's top-level blocks, in order."""
    root = etree.fromstring(f"<div>{body}</div>".encode())
    return [child.get("id") for child in root if child.get("id")]


def page_breaks(ids: list[str], anchors: dict, pages: int, first_folio: int) -> tuple[tuple[int, str], ...]:
    """(folio, block id) for each page of one laid-out chapter: `anchors` maps an id to
    (page index, x, y) in the part; `first_folio` is the folio of the part's first page."""
    # in the order the page shows them (makeup.py may move a figure below the next paragraph)
    placed = sorted((anchors[i][0], anchors[i][2], i) for i in ids if i in anchors)
    top = min((y for p, y, _ in placed if p > 0), default=0.0)  # where text starts on a page
    breaks = [(first_folio, "")]
    for page in range(1, pages):
        starting = [(y, i) for p, y, i in placed if p == page]
        before = [i for p, _, i in placed if p < page]
        if starting and (starting[0][0] - top <= TOP_SLACK or not before):
            breaks.append((first_folio + page, starting[0][1]))
        elif before:
            breaks.append((first_folio + page, before[-1]))  # the page begins inside this block
    return _in_reading_order(breaks, {block: n for n, block in enumerate(ids)})


def _in_reading_order(breaks: list, order: dict) -> tuple[tuple[int, str], ...]:
    """Page numbers never go back while one reads on: a marker the makeup's reordering would put
    before the previous page's goes with it (before the same block)."""
    kept, last = [breaks[0]], -1
    for folio, block in breaks[1:]:
        if order[block] < last:
            block = kept[-1][1]
        kept.append((folio, block))
        last = order[block]
    return tuple(kept)


def marker(folio: int) -> str:
    """The page-break marker for a printed page (empty; its number is its accessible name)."""
    return f'<span epub:type="pagebreak" role="doc-pagebreak" id="page-{folio}" aria-label="{folio}"/>'


def with_markers(body: str, breaks: tuple[tuple[int, str], ...]) -> str:
    """`body` with the markers of pages that begin inside it placed before their blocks (the
    marker of the chapter's first page, block id "", goes at the top of its document: epub.py)."""
    before: dict[str, str] = {}
    for folio, block in breaks:
        if block:
            before[block] = before.get(block, "") + marker(folio)
    if not before:
        return body
    return re.sub(r'<\w+\b[^>]*?\bid="([^"]+)"', lambda m: before.get(m.group(1), "") + m.group(0), body)
