"""Book -> EPUB 3 file (with an NCX for EPUB 2 readers), via ebooklib, byte-reproducible.

Recipe: metadata, cover, title page, one XHTML document per episode (from the theme's
template), images prepared for e-readers, nav and NCX nested to `[epub] toc-depth`,
landmarks; then ebooklib writes to memory and we re-zip with `mimetype` first and stored,
fixed timestamps and images stored uncompressed, and rename the file into place.
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
    _metadata(eb, book)
    binaries: dict[str, bytes] = {}  # zip entries ebooklib only names; their bytes join at re-zip time
    cover_name, cover = _cover(book, cache)
    binaries["EPUB/" + cover_name] = cover
    eb.set_cover(cover_name, b"", create_page=True)
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
    docs, files = [], {}
    for chapter in book.chapters:
        body = chapter.body_with(lambda key: f"images/{key}{EXT[images[key][1]]}")
        for n, part in enumerate(split_body(body, MAX_DOCUMENT), 1):
            name = chapter_file(chapter) if n == 1 else f"{chapter.key}-{n}.xhtml"
            doc = _Document(uid=chapter.key if n == 1 else f"{chapter.key}-{n}", file_name=name,
                            title=chapter.title, lang=chapter.lang)
            doc.content = theme.render("epub/chapter.xhtml", chapter=chapter, body=part, byline=chapter.byline,
                                       continued=n > 1).encode()
            files.update({anchor: name for anchor in re.findall(r'\bid="([^"]+)"', part)})
            eb.add_item(doc)
            docs.append(doc)
    eb.toc = [_toc_item(c, book.manifest.epub.toc_depth, files) for c in book.chapters]
    eb.add_item(epub.EpubNcx())
    nav = epub.EpubNav(uid="nav", file_name="nav.xhtml", title=theme.text("目录"))
    eb.add_item(nav)
    eb.spine = ["cover", title, nav] + docs
    eb.guide = [{"type": "cover", "href": "cover.xhtml", "title": theme.text("封面")},
                {"type": "title-page", "href": "title.xhtml", "title": theme.text("扉页")},
                {"type": "toc", "href": "nav.xhtml", "title": theme.text("目录")}]
    if docs:
        eb.guide.append({"type": "text", "href": docs[0].file_name, "title": theme.text("正文")})
    buffer = io.BytesIO()
    epub.write_epub(buffer, eb, {"epub3_pages": False, "mtime": book.modified.astimezone(dt.timezone.utc),
                                 "raise_exceptions": True, "landmark_title": theme.text("导览")})
    atomic_write(path, _reproducible_zip(buffer.getvalue(), binaries, book.modified))


def _metadata(eb: epub.EpubBook, book: Book) -> None:
    eb.set_identifier(book.identifier)
    eb.set_title(book.title)
    eb.set_language(book.language)
    for i, author in enumerate(book.authors, 1):
        eb.add_author(author, uid=f"creator{i}")
    m = book.manifest
    if m.publisher:
        eb.add_metadata("DC", "publisher", m.publisher)
    description = m.description or (f"{book.title}：{book.subtitle}" if book.subtitle else book.title) + \
        f"，共 {len(book.chapters)} 篇。"
    eb.add_metadata("DC", "description", description)
    for subject in book.subjects:
        eb.add_metadata("DC", "subject", subject)
    eb.add_metadata(None, "meta", book.title, {"property": "belongs-to-collection", "id": "collection"})
    eb.add_metadata(None, "meta", "series", {"refines": "#collection", "property": "collection-type"})
    has_images = bool(book.assets)
    access = [("schema:accessMode", "textual")] + ([("schema:accessMode", "visual")] if has_images else [])
    access += [("schema:accessModeSufficient", "textual"), ("schema:accessibilityFeature", "structuralNavigation"),
               ("schema:accessibilityFeature", "tableOfContents"), ("schema:accessibilityFeature", "readingOrder"),
               ("schema:accessibilityHazard", "none"),
               ("schema:accessibilitySummary",
                "文字内容完整，含章节导航与目录；图片有图注或替代文本时一并提供。"
                "Text with structural navigation and a table of contents; images carry alternative text where the source gave a caption.")]
    for prop, value in access:
        eb.add_metadata(None, "meta", value, {"property": prop})


def _toc_item(chapter: Chapter, depth: int, files: dict):
    href = chapter_file(chapter)
    link = epub.Link(href, chapter.title, f"toc-{chapter.key}")
    if depth < 2 or not chapter.toc:
        return link
    return (epub.Section(chapter.title, href), [_section(e, depth, files) for e in chapter.toc])


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
    key = hashlib.sha256(json.dumps([COVER_VERSION, book.title, book.subtitle, len(book.chapters), book.authors],
                                    ensure_ascii=False).encode()).hexdigest()
    derived = cache.derived(f"cover-{key}.jpg")
    if not derived.is_file():
        from .cover import make_cover
        atomic_write(derived, make_cover(book.title, book.subtitle, len(book.chapters), book.authors))
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
