"""Manifest + Episodes + localized images -> Book: the one model every backend renders.

The book holds chapters in reading order (each with its TOC tree and an XHTML body whose
images point at `asset:KEY`), the image assets they use, and the series' metadata. Images that
could not be had become visible `image-missing` notes here (with their URL; the reason goes to
the report), so every format shows them alike.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .images import Localized
from .manifest import Manifest
from .normalize import Episode, TocEntry
from .titles import EpisodeTitle, parse_title

@dataclass(frozen=True)
class ImageRef:
    """An image placed in a chapter's body (as `src="asset:KEY"`): its asset, its text
    alternative, and the width in CSS px the post gave it (None: the image's own)."""

    key: str
    alt: str
    width: int | None = None


@dataclass(frozen=True)
class Asset:
    key: str  # stable short name: the first 16 hex digits of its sha256
    sha256: str
    type: str
    width: int
    height: int
    urls: tuple[str, ...]  # where the image came from


@dataclass(frozen=True)
class Chapter:
    key: str
    number: int | None
    title: str
    date: dt.datetime | None
    author: str
    lang: str
    categories: tuple[str, ...]
    body: str  # XHTML fragment; images as src="asset:KEY"
    toc: tuple[TocEntry, ...]
    source: Path
    asset_keys: tuple[str, ...]
    subtitle: str  # the parts of the post's title (titles.py); `title` is the title alone
    full_title: str  # the post's own title (series name, number and all), for the colophon
    short_title: str  # for running heads
    long_title: str  # title and subtitle together: 目录, EPUB nav and PDF bookmarks
    images: tuple[ImageRef, ...] = ()  # every image the body places, in reading order

    @property
    def byline(self) -> str:
        """Author and date, as chapter headings and handouts show them."""
        parts = [self.author, self.date.strftime("%Y-%m-%d") if self.date else ""]
        return " · ".join(p for p in parts if p)

    def body_with(self, href, body: str | None = None) -> str:
        """The body (or `body`, made from it) with each asset reference replaced by `href(asset_key)`."""
        body = self.body if body is None else body
        for key in self.asset_keys:
            body = body.replace(f'src="asset:{key}"', f'src="{href(key)}"')
        return body


@dataclass(frozen=True)
class PrintPages:
    """Where the pages of a print edition built alongside begin (render/pagelist.py): per
    chapter key, (folio, id of the block the page begins in) in reading order; the id is ""
    for a chapter's first page, which begins at its head."""

    source: str  # the print edition the numbers come from, as the EPUB's package names it
    breaks: dict[str, tuple[tuple[int, str], ...]]


@dataclass(frozen=True)
class Book:
    manifest: Manifest
    title: str
    subtitle: str
    authors: tuple[str, ...]
    language: str
    identifier: str
    chapters: tuple[Chapter, ...]
    assets: dict  # key -> Asset
    subjects: tuple[str, ...]
    modified: dt.datetime
    print_pages: PrintPages | None = None  # when a PDF was built in the same run (pipeline.build)


def build_book(manifest: Manifest, episodes: list[Episode], localized: Localized, modified: dt.datetime) -> Book:
    urls: dict[str, list[str]] = {}
    for image in localized.images.values():
        urls.setdefault(image.sha256[:16], []).append(image.url)
    assets = {image.sha256[:16]: Asset(image.sha256[:16], image.sha256, image.type, image.width, image.height,
                                       tuple(urls[image.sha256[:16]]))
              for image in localized.images.values()}
    chapters = tuple(_chapter(e, localized, _title(e, manifest)) for e in episodes)
    used = {k for c in chapters for k in c.asset_keys}
    authors = manifest.authors or tuple(dict.fromkeys(e.credited or e.source.author for e in episodes
                                                      if e.credited or e.source.author))
    subjects = tuple(dict.fromkeys(c for e in episodes for c in e.source.categories))
    return Book(manifest=manifest, title=manifest.title, subtitle=manifest.subtitle, authors=authors,
                language=manifest.language, identifier=manifest.identifier, chapters=chapters,
                assets={k: a for k, a in assets.items() if k in used}, subjects=subjects, modified=modified)


def _title(episode: Episode, manifest: Manifest) -> EpisodeTitle:
    source = episode.source
    return parse_title(episode.title, manifest.title, manifest.titles.pattern, source.number,
                       source.subtitle, source.short_title)


def _chapter(episode: Episode, localized: Localized, title: EpisodeTitle) -> Chapter:
    refs: list[ImageRef] = []
    body = number_blocks(_place_images(episode.body, localized, refs), episode.key)
    return Chapter(key=episode.key, number=title.number, title=title.title, subtitle=title.subtitle,
                   full_title=title.full, short_title=title.short, long_title=title.long, date=episode.source.date,
                   author=episode.author, lang=episode.lang, categories=episode.source.categories, body=body,
                   toc=episode.sections, source=episode.source.path,
                   asset_keys=tuple(dict.fromkeys(r.key for r in refs)), images=tuple(refs))


def number_blocks(body: str, key: str) -> str:
    """Every top-level block gets an id (`KEY.N` unless it has one), so that a backend can tell
    where each landed: the PDF's layout gives the EPUB its print page breaks (render/pagelist.py)."""
    root = etree.fromstring(f"<div>{body}</div>".encode())
    for n, block in enumerate(root, 1):
        if not block.get("id"):
            block.set("id", f"{key}.{n}")
    return (root.text or "") + "".join(etree.tostring(child, encoding="unicode") for child in root)


def _short(url: str) -> str:
    return url if len(url) <= 120 else url[:100] + "…" + url[-15:]


def _place_images(body: str, localized: Localized, refs: list[ImageRef]) -> str:
    """The body with each image pointing at its asset (`asset:KEY`, noted in `refs`), and each
    one that could not be had replaced by a visible note; a figure of several images keeps
    the ones that came, each in a figure of its own, and its caption as a paragraph."""
    root = etree.fromstring(f"<div>{body}</div>".encode("utf-8"))
    for figure in list(root.iter("figure")):
        imgs = [el for el in figure if el.tag == "img"]
        caption = figure.find("figcaption")
        if not imgs or len(imgs) + (caption is not None) != len(figure) or all(i.get("src") in localized.images for i in imgs):
            continue
        if len(imgs) == 1:
            _replace(figure, [_missing(imgs[0].get("src"), caption)])
            continue
        parts = [_figure_of(i) if i.get("src") in localized.images else _missing(i.get("src"), None) for i in imgs]
        if caption is not None:
            paragraph = etree.Element("p", {"class": "caption"})
            paragraph.text, paragraph[:] = caption.text, list(caption)
            parts.append(paragraph)
        _replace(figure, parts)
    for img in list(root.iter("img")):
        image = localized.images.get(img.get("src"))
        if image is None:
            note = etree.Element("span", {"class": "image-missing"})
            note.text = f"[图片未能获取：{_short(img.get('src') or '')}]"
            _replace(img, [note])
            continue
        img.set("src", f"asset:{image.sha256[:16]}")
        width = img.get("width") or ""
        refs.append(ImageRef(image.sha256[:16], img.get("alt") or "", int(width) if width.isdigit() else None))
    return (root.text or "") + "".join(etree.tostring(child, encoding="unicode") for child in root)


def _replace(element, replacements: list) -> None:
    """Put `replacements` where `element` is (its tail after the last of them)."""
    parent, tail = element.getparent(), element.tail
    for new in replacements:
        element.addprevious(new)
    replacements[-1].tail = tail
    parent.remove(element)


def _figure_of(img):
    figure = etree.Element("figure")
    img.tail = None
    figure.append(img)
    return figure


def _missing(url: str | None, caption) -> etree._Element:
    """A visible note where an image could not be had. Why it failed (offline, timeout …) is
    a fact about this build, not about the book: it goes to the report, not onto the page."""
    figure = etree.Element("figure", {"class": "image-missing"})
    etree.SubElement(figure, "p", {"class": "image-missing-note"}).text = "图片未能获取"
    etree.SubElement(figure, "p", {"class": "image-missing-url"}).text = _short(url or "")
    if caption is not None:
        caption.tail = None
        figure.append(caption)
    return figure
