"""Book -> EPUB 3 file (with an NCX for EPUB 2 readers), via ebooklib, byte-reproducible.

Recipe: metadata (epub_package.py), cover page, title page, one XHTML document per episode
(from the theme's template; with the print edition's page-break markers when a PDF was built in
the same run: pagelist.py), images prepared for e-readers, nav and NCX nested to `[epub]
toc-depth` with landmarks and the page list; then ebooklib (through `PackageWriter`) writes to
memory and we re-zip with `mimetype` first and stored, fixed timestamps and images stored
uncompressed, and rename the file into place.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

from ebooklib import epub
from lxml import etree

from ..book import Asset, Book, Chapter
from ..images.cache import ImageCache, atomic_write
from ..normalize import TocEntry
from ..themes import Theme
from .epub_package import PackageWriter, add_metadata, cover_page
from .pagelist import marker, with_markers

COVER_VERSION = 1
MAX_DOCUMENT = 250_000  # bytes of body per XHTML document; readers slow down past ~300 KB
EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/svg+xml": ".svg"}


class _Document(epub.EpubHtml):
    """An XHTML document we render completely ourselves (ebooklib would re-parse it as HTML
    and drop the <head>, body attributes and epub:type)."""

    def get_content(self, default=None):
        return self.content


def chapter_file(chapter: Chapter) -> str:
    return f"{chapter.key}.xhtml"


def write_epub(book: Book, path: Path, theme: Theme, cache: ImageCache) -> None:
    eb = epub.EpubBook()
    add_metadata(eb, book, _description(book), theme.text)
    binaries: dict[str, bytes] = {}  # zip entries ebooklib only names; their bytes join at re-zip time
    cover_name, cover = _cover(book, cache)
    binaries["EPUB/" + cover_name] = cover
    eb.set_cover(cover_name, b"", create_page=False)
    cover_doc = _Document(uid="cover", file_name="cover.xhtml", title=theme.text("封面"), lang=book.language)
    cover_doc.content = cover_page(book, cover_name, theme.text("封面"))
    eb.add_item(cover_doc)
    css = epub.EpubItem(uid="style", file_name="style/book.css", media_type="text/css", content=theme.css("epub.css").encode())
    eb.add_item(css)
    images = {key: epub_image(asset, book, cache) for key, asset in book.assets.items()}
    for key, (data, media_type) in images.items():
        name = f"images/{key}{EXT[media_type]}"
        binaries["EPUB/" + name] = data
        eb.add_item(epub.EpubImage(uid=f"img-{key}", file_name=name, media_type=media_type, content=b""))

    title = _Document(uid="titlepage", file_name="title.xhtml", title=book.title, lang=book.language)
    title.content = theme.render("epub/title.xhtml", book=book).encode()
    eb.add_item(title)
    docs, files = _chapters(eb, book, theme, images)
    eb.toc = [_toc_item(c, book.manifest.epub.toc_depth, files) for c in book.chapters]
    eb.add_item(epub.EpubNcx())
    nav = epub.EpubNav(uid="nav", file_name="nav.xhtml", title=theme.text("目录"))
    nav.add_link(href="style/book.css", rel="stylesheet", type="text/css")
    eb.add_item(nav)
    eb.spine = [cover_doc, title, nav] + docs
    eb.guide = [{"type": "cover", "href": "cover.xhtml", "title": theme.text("封面")},
                {"type": "title-page", "href": "title.xhtml", "title": theme.text("扉页")},
                {"type": "toc", "href": "nav.xhtml", "title": theme.text("目录")}]
    if docs:
        eb.guide.append({"type": "text", "href": docs[0].file_name, "title": theme.text("正文")})
    pages = [(str(folio), f"{files[f'page-{folio}']}#page-{folio}")
             for breaks in (book.print_pages.breaks.values() if book.print_pages else ()) for folio, _ in breaks]
    buffer = io.BytesIO()
    # compresslevel 0: ebooklib's zip is only read back by _reproducible_zip, which deflates once
    writer = PackageWriter(buffer, eb, {"epub3_pages": False, "mtime": book.modified.astimezone(dt.timezone.utc),
                                        "raise_exceptions": True, "landmark_title": theme.text("导览"),
                                        "compresslevel": 0},
                           book.language, pages, {"page-list": theme.text("页码")})
    writer.process()
    writer.write()
    atomic_write(path, _reproducible_zip(buffer.getvalue(), binaries, book.modified))


def _chapters(eb: epub.EpubBook, book: Book, theme: Theme, images: dict) -> tuple[list, dict]:
    """One XHTML document per chapter (several for a huge one), with the print edition's page
    markers when there is one; -> the documents and the file each id lives in."""
    docs, files = [], {}
    for chapter in book.chapters:
        breaks = book.print_pages.breaks.get(chapter.key, ()) if book.print_pages else ()
        body = with_markers(_reader_safe(chapter.body_with(lambda key: f"images/{key}{EXT[images[key][1]]}")), breaks)
        for n, part in enumerate(split_body(body, MAX_DOCUMENT), 1):
            name = chapter_file(chapter) if n == 1 else f"{chapter.key}-{n}.xhtml"
            doc = _Document(uid=chapter.key if n == 1 else f"{chapter.key}-{n}", file_name=name,
                            title=chapter.title, lang=chapter.lang)
            content = theme.render("epub/chapter.xhtml", chapter=chapter, body=part, byline=chapter.byline,
                                   continued=n > 1)
            if n == 1 and breaks and not breaks[0][1]:  # the chapter's first printed page begins at its head
                content = re.sub(r"(<body\b[^>]*>)", lambda m: m.group(1) + "\n" + marker(breaks[0][0]), content, count=1)
            doc.content = content.encode()
            files.update({anchor: name for anchor in re.findall(r'\bid="([^"]+)"', content)})
            eb.add_item(doc)
            docs.append(doc)
    return docs, files


def _reader_safe(body: str) -> str:
    """Images without fixed dimensions: calibre (the road to Kindle) turns width/height
    attributes into fixed CSS sizes, then fits the image to the page in one direction only
    (measured: 147 of 178 corpus images squashed, to 0.27 of their proportions; a width alone
    still squashes an image taller than the page). Without them, every reader scales the
    image as a whole (the stylesheet caps it at the text width)."""
    return re.sub(r"<img\b[^>]*>", lambda m: re.sub(r' (?:width|height)="\d+"', "", m.group(0)), body)


def _description(book: Book) -> str:
    return book.manifest.description or (f"{book.title}：{book.subtitle}" if book.subtitle else book.title) + \
        f"，共 {len(book.chapters)} 篇。"


def _toc_item(chapter: Chapter, depth: int, files: dict):
    href = chapter_file(chapter)
    link = epub.Link(href, chapter.long_title, f"toc-{chapter.key}")
    if depth < 2 or not chapter.toc:
        return link
    return (epub.Section(chapter.long_title, href), [_section(e, depth, files) for e in chapter.toc])


def _section(entry: TocEntry, depth: int, files: dict):
    href = f"{files[entry.id]}#{entry.id}"
    link = epub.Link(href, entry.title, f"toc-{entry.id}")
    if depth < 3 or not entry.children:
        return link
    return (epub.Section(entry.title, href), [_section(c, depth, files) for c in entry.children])


def split_body(body: str, limit: int) -> list[str]:
    """Cut an episode too large for one e-reader document into parts of at most `limit`
    bytes, at its h2 sections where possible, else between top-level blocks."""
    if len(body.encode()) <= limit:
        return [body]
    root = etree.fromstring(f"<div>{body}</div>".encode())
    blocks = [etree.tostring(child, encoding="unicode", with_tail=True) for child in root]
    if root.text:
        blocks.insert(0, root.text)
    parts, current, size = [], [], 0
    for block in blocks:
        block_size = len(block.encode())
        starts_section = block.startswith("<h2")
        if current and (size + block_size > limit or starts_section and size > limit // 2):
            parts.append("".join(current))
            current, size = [], 0
        current.append(block)
        size += block_size
    parts.append("".join(current))
    return parts


def _derived_key(asset: Asset, book: Book) -> str:
    s = book.manifest.epub
    return f"epub-{asset.sha256}-{s.max_image}-{s.jpeg_quality}"


def epub_image(asset: Asset, book: Book, cache: ImageCache) -> tuple[bytes, str]:
    """The e-reader copy of an asset, made once and kept in the cache's derived folder."""
    key = _derived_key(asset, book)
    for media_type, ext in EXT.items():
        derived = cache.derived(key + ext)
        if derived.is_file():
            return derived.read_bytes(), media_type
    from ..images.process import ImageInfo, for_epub  # Pillow only when a copy must be made
    s = book.manifest.epub
    data, media_type = for_epub(cache.read(asset.sha256), ImageInfo(asset.type, asset.width, asset.height),
                                s.max_image, s.jpeg_quality)
    atomic_write(cache.derived(key + EXT[media_type]), data)
    return data, media_type


def _cover(book: Book, cache: ImageCache) -> tuple[str, bytes]:
    """The series' cover, or a generated one (made once per title, subtitle, count, authors)."""
    if book.manifest.cover:
        return "images/cover" + book.manifest.cover.suffix.lower(), book.manifest.cover.read_bytes()
    key = hashlib.sha256(json.dumps([COVER_VERSION, book.title, book.subtitle, len(book.chapters), book.authors,
                                     book.language],
                                    ensure_ascii=False).encode()).hexdigest()
    derived = cache.derived(f"cover-{key}.jpg")
    if not derived.is_file():
        from .cover import make_cover
        atomic_write(derived, make_cover(book.title, book.subtitle, len(book.chapters), book.authors, book.language))
    return "images/cover.jpg", derived.read_bytes()


def _reproducible_zip(data: bytes, binaries: dict[str, bytes], modified: dt.datetime) -> bytes:
    """Re-zip: mimetype first and stored, fixed timestamps, images stored (already compressed),
    text deflated; `binaries` replace the empty placeholders ebooklib wrote for them."""
    stamp = max(modified.astimezone(dt.timezone.utc), dt.datetime(1980, 1, 1, tzinfo=dt.timezone.utc)).timetuple()[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        names = zin.namelist()
        for name in ["mimetype"] + sorted(n for n in names if n != "mimetype"):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16
            stored = name == "mimetype" or name in binaries
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            zout.writestr(info, binaries[name] if name in binaries else zin.read(name))
    return out.getvalue()
