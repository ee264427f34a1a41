"""Rendered parts -> one PDF book, with pikepdf.

The front matter is the base (its metadata, output intent and identifier stay); each episode's
pages follow, a blank page before any episode that would otherwise open on a verso; folios are
stamped on the body pages from a sheet of digits (so an episode's pages do not depend on where
it lands, and stay cached when another episode changes length); then bookmarks, /PageLabels
(roman front matter, arabic body) and the 目录's links.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import pikepdf
from pikepdf import Array, Dictionary, Name

from ..normalize import TocEntry
from .parts import RenderedPart

PX = 0.75  # points per CSS px


@dataclass(frozen=True)
class Folios:
    """Where folios go and the digits to draw them with (a rendered sheet: page d shows d)."""

    sheet: RenderedPart
    advance: tuple[float, ...]  # CSS px of each digit 0-9
    origin_x: float  # CSS px where each digit is drawn on its sheet page
    outer: float  # CSS px from the outer trim edge to the folio


@dataclass(frozen=True)
class ChapterMarks:
    title: str
    key: str
    toc: tuple[TocEntry, ...]


def body_layout(parts: list[RenderedPart]) -> list[int]:
    """Body page index (0-based) where each episode starts: always an odd folio (a recto)."""
    starts, page = [], 0
    for part in parts:
        page += page % 2
        starts.append(page)
        page += part.pages
    return starts


def assemble(front: RenderedPart, episodes: list[RenderedPart], blank: RenderedPart, folios: Folios,
             chapters: list[ChapterMarks], front_marks: dict[str, str]) -> bytes:
    pdf = pikepdf.open(io.BytesIO(front.data))
    sources = [pikepdf.open(io.BytesIO(p.data)) for p in episodes + [blank, folios.sheet]]
    *episode_pdfs, blank_pdf, sheet_pdf = sources
    front_count = len(pdf.pages)
    starts = body_layout(episodes)
    blanks = set()
    for start, source in zip(starts, episode_pdfs):
        while len(pdf.pages) - front_count < start:
            blanks.add(len(pdf.pages) - front_count)
            pdf.pages.append(blank_pdf.pages[0])
        pdf.pages.extend(source.pages)
    _stamp_folios(pdf, front_count, blanks, folios, sheet_pdf)
    _outline(pdf, front, episodes, starts, front_count, chapters, front_marks)
    pdf.Root.PageLabels = Dictionary(Nums=Array([0, Dictionary(S=Name.r), front_count, Dictionary(S=Name.D)]))
    _toc_links(pdf, front, episodes, starts, front_count)
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True)
    for source in sources:
        source.close()
    return out.getvalue()


def _stamp_folios(pdf, front_count: int, blanks: set, folios: Folios, sheet) -> None:
    digits = [pdf.copy_foreign(sheet.pages[d].as_form_xobject()) for d in range(10)]
    width = folios.sheet.size[0]
    for index in range(front_count, len(pdf.pages)):
        body = index - front_count
        if body in blanks:
            continue
        text = str(body + 1)
        length = sum(folios.advance[int(c)] for c in text)
        recto = (index + 1) % 2 == 1
        x = width - folios.outer - length if recto else folios.outer
        page = pdf.pages[index]
        page.contents_coalesce()
        content = [b"q"]
        for c in text:
            name = Name(f"/Folio{c}")
            page.add_resource(digits[int(c)], Name.XObject, name, replace_existing=True)
            content.append(b"q 1 0 0 1 %.3f 0 cm %s Do Q" % ((x - folios.origin_x) * PX, bytes(name)))
            x += folios.advance[int(c)]
        content.append(b"Q")
        page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
        page.contents_add(pikepdf.Stream(pdf, b"\nQ\n" + b"\n".join(content) + b"\n"))


def _destination(pdf, index: int, y_px: float, height_px: float) -> Array:
    return Array([pdf.pages[index].obj, Name.XYZ, None, (height_px - y_px) * PX, None])


def _outline(pdf, front, episodes, starts, front_count, chapters, front_marks) -> None:
    height = front.size[1]
    with pdf.open_outline() as outline:
        outline.root.clear()
        for anchor, title in front_marks.items():
            if anchor in front.anchors:
                page, _, y = front.anchors[anchor]
                outline.root.append(pikepdf.OutlineItem(title, _destination(pdf, page, y, height)))
        for chapter, part, start in zip(chapters, episodes, starts):
            def item(title: str, anchor: str, children=()):
                page, _, y = part.anchors.get(anchor, (0, 0, 0))
                node = pikepdf.OutlineItem(title, _destination(pdf, front_count + start + page, y, height))
                node.children.extend(item(c.title, c.id, c.children) for c in children)
                return node
            outline.root.append(item(chapter.title, chapter.key, chapter.toc))


def _toc_links(pdf, front, episodes, starts, front_count) -> None:
    """The 目录 points at anchors in other parts: make its links here, where all pages meet."""
    where = {}
    for part, start in zip(episodes, starts):
        for anchor, (page, _, y) in part.anchors.items():
            where[anchor] = (front_count + start + page, y)
    height = front.size[1]
    for page_index, anchor, (x0, y0, x1, y1) in front.links:
        if anchor not in where:
            continue
        target, y = where[anchor]
        annotation = pdf.make_indirect(Dictionary(
            Type=Name.Annot, Subtype=Name.Link, Border=Array([0, 0, 0]),
            Rect=Array([x0 * PX, (height - y1) * PX, x1 * PX, (height - y0) * PX]),
            Dest=_destination(pdf, target, y, height)))
        page = pdf.pages[page_index].obj
        if Name.Annots not in page:
            page.Annots = Array()
        page.Annots.append(annotation)
