"""Manifest + Episodes + localized images -> Book: the one model every backend renders.

The book holds chapters in reading order (each with its TOC tree and an XHTML body whose
images point at `asset:KEY`), the image assets they use, and the series' metadata. Images that
could not be had become visible `image-missing` notes here (with their URL; the reason goes to
the report), so every format shows them alike.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from .images import Localized
from .manifest import Manifest
from .normalize import Episode, TocEntry
from .titles import EpisodeTitle, parse_title

IMG = re.compile(r'<img src="([^"]*)" alt="([^"]*)"([^>]*)/>')
FIGURE = re.compile(r'<figure( class="opener")?>((?:<img [^>]*/>)+)(<figcaption>.*?</figcaption>)?</figure>', re.S)


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
    subtitle: str = ""
    full_title: str = ""  # the post's own title (series name, number and all), for the colophon
    short_title: str = ""  # for running heads

    @property
    def byline(self) -> str:
        """Author and date, as chapter headings and handouts show them."""
        parts = [self.author, self.date.strftime("%Y-%m-%d") if self.date else ""]
        return " · ".join(p for p in parts if p)

    def body_with(self, href) -> str:
        """The body with each asset reference replaced by `href(asset_key)`."""
        return re.sub(r'src="asset:([0-9a-f]+)"', lambda m: f'src="{href(m.group(1))}"', self.body)


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
    used: list[str] = []

    def known(url: str) -> bool:
        return html.unescape(url) in localized.images

    def figure(m: re.Match) -> str:
        imgs = IMG.findall(m.group(2))
        caption = m.group(3) or ""
        if all(known(url) for url, _, _ in imgs):
            return m.group(0)
        if len(imgs) == 1:
            return _missing(imgs[0][0], caption)
        figures = "".join(f'<figure><img src="{url}" alt="{alt}"{size}/></figure>' if known(url) else _missing(url, "")
                          for url, alt, size in imgs)
        return figures + (f'<p class="caption">{caption[len("<figcaption>"):-len("</figcaption>")]}</p>' if caption else "")

    def img(m: re.Match) -> str:
        image = localized.images.get(html.unescape(m.group(1)))
        if image is None:
            return f'<span class="image-missing">[图片未能获取：{html.escape(_short(html.unescape(m.group(1))))}]</span>'
        used.append(image.sha256[:16])
        return f'<img src="asset:{image.sha256[:16]}" alt="{m.group(2)}"{m.group(3)}/>'

    body = number_blocks(IMG.sub(img, FIGURE.sub(figure, episode.body)), episode.key)
    return Chapter(key=episode.key, number=title.number, title=title.title, subtitle=title.subtitle,
                   full_title=title.full, short_title=title.short, date=episode.source.date,
                   author=episode.author, lang=episode.lang, categories=episode.source.categories, body=body,
                   toc=episode.sections, source=episode.source.path, asset_keys=tuple(dict.fromkeys(used)))


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


def _missing(url: str, caption: str) -> str:
    """A visible note where an image could not be had. Why it failed (offline, timeout …) is
    a fact about this build, not about the book: it goes to the report, not onto the page."""
    url = html.unescape(url)
    return ('<figure class="image-missing"><p class="image-missing-note">图片未能获取</p>'
            f'<p class="image-missing-url">{html.escape(_short(url))}</p>{caption}</figure>')
