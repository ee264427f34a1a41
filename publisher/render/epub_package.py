"""Book -> what the EPUB's package says of it: metadata, accessibility, navigation, cover page.

ebooklib writes a thin package; this module fills it in:
- bibliographic metadata (EPUB 3.3 §5.5): the subtitle as a second dc:title refined
  `title-type subtitle`; creators refined `role aut` (MARC relators) and `file-as`; dc:date;
  dc:rights; the series as `belongs-to-collection` (`collection-type series`, `group-position`);
  the print edition the page numbers come from as dc:source (`source-of pagination`);
- accessibility metadata (EPUB Accessibility 1.1 §5; schema.org terms) computed from what the
  chapters hold: text alone is claimed sufficient only when every image has a text alternative;
- `PackageWriter`, ebooklib's writer plus: `xml:lang` on <package> (Ace's epub-lang rule reads
  it, not dc:language); landmarks in the Structural Semantics vocabulary (`titlepage`, not the
  EPUB 2 guide's `title-page`: EPUBCheck OPF-088); the nav styled, headed h1 and carrying a
  `page-list`; the NCX with its real depth and a pageList (NCX spec §2.4.1.2, dtb:depth);
- the cover page, in the book's language.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ebooklib import epub
from lxml import etree

from ..book import Book

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XHTML = "http://www.w3.org/1999/xhtml"
OPS = "http://www.idpf.org/2007/ops"
NCX = "http://www.daisy.org/z3986/2005/ncx/"
# EPUB 2 guide types -> EPUB 3 Structural Semantics terms, for the landmarks nav
LANDMARKS = {"title-page": "titlepage", "text": "bodymatter", "cover": "cover", "toc": "toc"}


@dataclass(frozen=True)
class Access:
    """What a book offers a reader who cannot see its images (or its pages)."""

    images: int
    described: int  # images with a non-empty alt
    animated: bool  # GIFs: whether they flash is not known
    page_list: bool

    @property
    def textual_suffices(self) -> bool:
        return self.described == self.images


def survey_access(book: Book) -> Access:
    alts = [html.unescape(alt).strip() for c in book.chapters for alt in re.findall(r'<img [^>]*?alt="([^"]*)"', c.body)]
    animated = any(a.type == "image/gif" for a in book.assets.values())
    return Access(len(alts), sum(1 for a in alts if a), animated, book.print_pages is not None)


def accessibility(access: Access, language: str) -> list[tuple[str, str]]:
    """schema.org accessibility properties as (property, value) pairs for <meta> elements."""
    meta = [("schema:accessMode", "textual")] + ([("schema:accessMode", "visual")] if access.images else [])
    if access.textual_suffices:
        meta.append(("schema:accessModeSufficient", "textual"))
    if access.images:
        meta.append(("schema:accessModeSufficient", "textual,visual"))
    features = ["structuralNavigation", "tableOfContents", "readingOrder", "displayTransformability"]
    features += ["alternativeText"] if access.described else []
    features += ["pageBreakMarkers", "pageNavigation"] if access.page_list else []
    meta += [("schema:accessibilityFeature", f) for f in features]
    meta.append(("schema:accessibilityHazard", "unknown" if access.animated else "none"))
    meta.append(("schema:accessibilitySummary", summary(access, language)))
    return meta


def summary(access: Access, language: str) -> str:
    """What is and is not described, in the book's language (Chinese unless it is another)."""
    missing = access.images - access.described
    if not language.lower().startswith("zh"):
        text = "Reflowable text with structural navigation and a table of contents"
        text += ", and page numbers from the print edition. " if access.page_list else ". "
        if access.images:
            text += (f"{access.described} of {access.images} images have a text alternative"
                     + (f"; {missing} have none and are available visually only." if missing else "."))
        return text
    text = "可重排的文字内容，含章节结构导航与目录" + ("，以及与印刷版对应的页码。" if access.page_list else "。")
    if access.images:
        text += f"共 {access.images} 张图片，{access.described} 张有文字说明（替代文本或图注）"
        text += f"，其余 {missing} 张没有文字说明，只能看图。" if missing else "。"
    if access.animated:
        text += "含动图，是否闪烁未经检查。"
    return text


def add_metadata(eb: epub.EpubBook, book: Book, description: str, text=lambda words: words) -> None:
    """Bibliographic and accessibility metadata of `book` onto ebooklib's book; `text` gives
    the words written here (the accessibility summary) as the theme shows them (editions.py)."""
    m = book.manifest
    eb.set_identifier(book.identifier)
    eb.title = book.title  # ebooklib's NCX and nav read it; the dc:title elements are ours
    eb.add_metadata("DC", "title", book.title, {"id": "title"})
    eb.add_metadata(None, "meta", "main", {"refines": "#title", "property": "title-type"})
    if book.subtitle:
        eb.add_metadata("DC", "title", book.subtitle, {"id": "subtitle"})
        eb.add_metadata(None, "meta", "subtitle", {"refines": "#subtitle", "property": "title-type"})
    eb.set_language(book.language)
    for i, author in enumerate(book.authors, 1):
        eb.add_metadata("DC", "creator", author, {"id": f"creator{i}"})
        eb.add_metadata(None, "meta", "aut", {"refines": f"#creator{i}", "property": "role", "scheme": "marc:relators"})
        eb.add_metadata(None, "meta", author, {"refines": f"#creator{i}", "property": "file-as"})
    eb.add_metadata("DC", "date", book.modified.strftime("%Y-%m-%d"))
    if m.publisher:
        eb.add_metadata("DC", "publisher", m.publisher)
    if m.rights:
        eb.add_metadata("DC", "rights", m.rights)
    eb.add_metadata("DC", "description", description)
    for subject in book.subjects:
        eb.add_metadata("DC", "subject", subject)
    eb.add_metadata(None, "meta", book.title, {"property": "belongs-to-collection", "id": "series"})
    eb.add_metadata(None, "meta", "series", {"refines": "#series", "property": "collection-type"})
    position = m.series_position or 1  # unless told otherwise, the book is its series' first
    eb.add_metadata(None, "meta", f"{position:g}", {"refines": "#series", "property": "group-position"})
    if book.print_pages is not None:
        eb.add_metadata("DC", "source", book.print_pages.source, {"id": "print-source"})
        eb.add_metadata(None, "meta", "pagination", {"refines": "#print-source", "property": "source-of"})
        eb.add_metadata(None, "meta", book.print_pages.source, {"property": "pageBreakSource"})
    for prop, value in accessibility(survey_access(book), book.language):
        eb.add_metadata(None, "meta", text(value) if prop == "schema:accessibilitySummary" else value, {"property": prop})


def cover_page(book: Book, image: str, label: str) -> bytes:
    """The cover page: the cover image, described, in the book's language."""
    lang, title = html.escape(book.language), html.escape(book.title)
    alt = html.escape(f"{label}：{book.title}" + (f"——{book.subtitle}" if book.subtitle else ""))
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
            f'<html xmlns="{XHTML}" xmlns:epub="{OPS}" lang="{lang}" xml:lang="{lang}">\n<head>\n'
            f'<meta charset="utf-8"/>\n<title>{title}</title>\n'
            '<style>body { margin: 0; text-align: center; } img { max-width: 100%; max-height: 100vh; }</style>\n'
            f'</head>\n<body>\n<section epub:type="cover" class="cover">\n'
            f'<img role="doc-cover" src="{html.escape(image)}" alt="{alt}"/>\n</section>\n</body>\n</html>\n').encode()


class PackageWriter(epub.EpubWriter):
    """ebooklib's writer, with the package language, the nav and the NCX completed (see above).
    `pages`: (label, href) of the page list; `titles`: what the nav's sections are called."""

    def __init__(self, name, book, options, language: str, pages: list[tuple[str, str]], titles: dict):
        super().__init__(name, book, options)
        self.language, self.pages, self.titles = language, pages, titles

    def _write_opf_file(self, root):
        root.set(XML_LANG, self.language)
        super()._write_opf_file(root)

    def _get_nav(self, item):
        root = etree.fromstring(super()._get_nav(item))
        x = f"{{{XHTML}}}"
        for nav in root.iter(x + "nav"):
            kind = nav.get(f"{{{OPS}}}type")
            heading = nav.find(x + "h2")
            if kind == "toc" and heading is not None:
                heading.tag = x + "h1"  # the document's first heading (Ace: heading-order)
            if kind == "landmarks":
                nav.set("hidden", "hidden")  # for reading systems; readers have the toc
                for a in nav.iter(x + "a"):
                    a.set(f"{{{OPS}}}type", LANDMARKS.get(a.get(f"{{{OPS}}}type"), a.get(f"{{{OPS}}}type")))
        body = root.find(x + "body")
        if self.pages and body is not None:
            nav = etree.SubElement(body, x + "nav", {f"{{{OPS}}}type": "page-list", "role": "doc-pagelist",
                                                     "hidden": "hidden"})
            etree.SubElement(nav, x + "h2").text = self.titles.get("page-list", "页码")
            ol = etree.SubElement(nav, x + "ol")
            for label, href in self.pages:
                etree.SubElement(etree.SubElement(ol, x + "li"), x + "a", href=href).text = label
        return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")

    def _get_ncx(self):
        root = etree.fromstring(super()._get_ncx())
        n = f"{{{NCX}}}"

        def depth(el) -> int:
            return max((1 + depth(p) for p in el.findall(n + "navPoint")), default=0)
        nav_map = root.find(n + "navMap")
        meta = {m.get("name"): m for m in root.iter(n + "meta")}
        meta["dtb:depth"].set("content", str(depth(nav_map) if nav_map is not None else 1))
        if self.pages:
            meta["dtb:totalPageCount"].set("content", str(len(self.pages)))
            meta["dtb:maxPageNumber"].set("content", str(max(int(label) for label, _ in self.pages)))
            page_list = etree.SubElement(root, n + "pageList")
            label = etree.SubElement(etree.SubElement(page_list, n + "navLabel"), n + "text")
            label.text = self.titles.get("page-list", "页码")
            for i, (text, href) in enumerate(self.pages, 1):
                target = etree.SubElement(page_list, n + "pageTarget", id=f"pt-{i}", type="normal", value=text)
                etree.SubElement(etree.SubElement(target, n + "navLabel"), n + "text").text = text
                etree.SubElement(target, n + "content", src=href)
        return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8",
                              doctype='<!DOCTYPE ncx PUBLIC "-//NISO//DTD ncx 2005-1//EN" '
                                      '"http://www.daisy.org/z3986/2005/ncx-2005-1.dtd">')
