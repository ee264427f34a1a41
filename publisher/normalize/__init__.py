"""SourceEpisode -> Episode: clean, well-formed XHTML shared by every backend, with its sections.

Steps: parse and sanitize (clean.py), rebuild as blocks and figures (blocks.py), then the
episode's own structure here: heading levels without gaps, h2 sections and h3 sub-sections with
ids unique across the book, the editor's note as a lede, the credits line (and the author it
names), the opening image and its text alternative, the language (language.py).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from lxml import etree

from ..errors import LimitError, Problem
from ..images.urls import unwrap_url
from ..sources import SourceEpisode
from .blocks import BLANK, structure
from .clean import clean, parse, unwrap
from .language import detect_language

CREDIT = re.compile(r"本文由\s*[@＠]\s*([^\s，,。]+?)\s*(?:原创|授权)?\s*(?:发布|首发|投稿)")
CREDIT_LINE = re.compile(r"^\s*(本文由\s*[@＠]|题图|封面图|图片来[自源]|来源[:：]|原文链接|作者[:：]|责任编辑)")
LEDE = re.compile(r"^\s*(编辑导读|编辑导语|导读|导语)\s*[:：]?")


@dataclass(frozen=True)
class TocEntry:
    """A heading of the book: its anchor, text, level (1 episode, 2 h2, 3 h3) and children."""

    id: str
    title: str
    level: int
    children: tuple["TocEntry", ...] = ()


@dataclass(frozen=True)
class Episode:
    key: str  # unique in the book, a valid XML id prefix ("e003")
    source: SourceEpisode
    title: str
    author: str  # the credited author when the credits name one, else the front matter's
    credited: str  # the author named in the credits line, or ""
    lang: str
    body: str  # XHTML fragment (no namespace prefix), image src = the URL to localize
    sections: tuple[TocEntry, ...]
    image_urls: tuple[str, ...]
    warnings: tuple[Problem, ...] = ()


def normalize(source: SourceEpisode, key: str, unwrap: tuple[str, ...], language: str) -> Episode:
    try:
        body = clean(parse(source.body), unwrap)
    except LimitError as exc:
        raise LimitError(exc.message, source.path, source.body_line) from None
    structure(body)
    warnings = list(source.warnings)
    _close_heading_gaps(body)
    _mark_lede(body)
    _alt_from_captions(body)
    credited = _mark_credits(body)
    _place_opener(body, unwrap_url(source.headimg, unwrap) if source.headimg else "")
    _alt_for_opener(body, source.title)
    sections, missing_ids = _sections(body, key)
    if missing_ids:
        warnings.append(Problem("source", f"{missing_ids} h2 heading(s) without a toc-N id; ids generated",
                                str(source.path)))
    _fix_links(body, key)
    images = tuple(dict.fromkeys(img.get("src") for img in body.iter("img")))
    xhtml = "".join(etree.tostring(child, encoding="unicode", method="xml", with_tail=True) for child in body)
    if body.text and not BLANK.match(body.text):
        xhtml = f"<p>{_escape(body.text)}</p>" + xhtml
    return Episode(key=key, source=source, title=source.title, author=credited or source.author,
                   credited=credited, lang=source.lang or detect_language(_prose(source.title, body), language), body=xhtml, sections=sections,
                   image_urls=images, warnings=tuple(warnings))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _text(el) -> str:
    return " ".join("".join(el.itertext()).split())


def _prose(title: str, body) -> str:
    """The episode's words for language detection: its title and text without code."""
    words = copy.deepcopy(body)
    for el in list(words.iter("pre", "code")):
        if el.getparent() is not None:
            el.text = None
            for child in list(el):
                el.remove(child)
    return title + " " + "".join(words.itertext())


def _close_heading_gaps(body) -> None:
    """Each heading at most one level below the one before it (the chapter title is h1): an
    episode opening with h3, or an h4 under an h2, would skip a level (WCAG 1.3.1; Ace
    reports it as heading-order)."""
    previous = 1
    for h in body.iter("h2", "h3", "h4", "h5", "h6"):
        level = min(int(h.tag[1]), previous + 1)
        h.tag, previous = f"h{level}", level


def _alt_for_opener(body, title: str) -> None:
    """The image a chapter opens with (the head image, or one before any text) is its title
    picture: without an alt of its own it is described as such (题图：title), not left silent."""
    opener = next((f.find("img") for f in body.iter("figure") if f.get("class") == "opener"), None)
    for img in (opener, _image_before_text(body)):
        if img is not None and not (img.get("alt") or "").strip():
            img.set("alt", f"题图：{title}")


def _image_before_text(el):
    """The first <img> in `el` that no text precedes; None when text comes first."""
    if el.text and not BLANK.match(el.text):
        return None
    for child in el:
        found = child if child.tag == "img" else _image_before_text(child)
        if found is not None or child.tag == "img" or "".join(child.itertext()).strip():
            return found
        if child.tail and not BLANK.match(child.tail):
            return None
    return None


def _alt_from_captions(body) -> None:
    for figure in body.iter("figure"):
        caption = figure.find("figcaption")
        for img in figure.iter("img"):
            if caption is not None and not img.get("alt"):
                img.set("alt", _text(caption))


def _mark_lede(body) -> None:
    """The editor's note (编辑导读) introduces the article; it quotes no one, so it is a
    classed division, not a <blockquote>."""
    for quote in body.iter("blockquote"):
        if LEDE.match(_text(quote)):
            quote.tag = "div"
            quote.set("class", "lede")
            break


def _mark_credits(body) -> str:
    credited = ""
    for p in body.iter("p"):
        text = _text(p)
        if m := CREDIT.search(text):
            credited = credited or m.group(1)
        if CREDIT_LINE.match(text) and len(text) < 200:
            p.set("class", "credits")
    return credited


def _place_opener(body, headimg: str) -> None:
    """When the head image repeats the first body image, that figure opens the chapter
    (right after the editor's note when the episode starts with one)."""
    first = next(body.iter("figure"), None)
    img = first.find("img") if first is not None else None
    if img is None or not headimg or img.get("src") != headimg:
        return
    first.set("class", "opener")
    parent = first.getparent()
    previous = first.getprevious()
    tail, first.tail = first.tail, None
    parent.remove(first)
    if tail and not BLANK.match(tail):
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    lede = body[0] if len(body) and body[0].get("class") == "lede" else None
    body.insert(1 if lede is not None else 0, first)


def _sections(body, key: str) -> tuple[tuple[TocEntry, ...], int]:
    """h2 -> sections, h3 -> their sub-sections; ids prefixed with the episode key."""
    used: set[str] = set()
    missing = 0
    tree: list[tuple[TocEntry, list]] = []
    for n, h in enumerate(body.iter("h2", "h3"), 1):
        source_id = h.get("id") or ""
        if h.tag == "h2" and not re.fullmatch(r"toc-\d+", source_id):
            missing += 1
        base = re.sub(r"[^\w-]", "", source_id)[:40] or f"h-{n}"
        new_id = f"{key}-{base}"
        while new_id in used:
            new_id += "-x"
        used.add(new_id)
        h.set("id", new_id)
        entry = TocEntry(new_id, _text(h), 2 if h.tag == "h2" else 3)
        if h.tag == "h2" or not tree:
            tree.append((entry, []))
        else:
            tree[-1][1].append(entry)
    for el in body.iter("a", "p", "li", "figure"):
        if el.get("id"):
            old = re.sub(r"[^\w-]", "", el.get("id"))[:40]
            new_id = f"{key}-a-{old}" if old else None
            if new_id and new_id not in used:
                el.set("id", new_id)
                used.add(new_id)
            else:
                del el.attrib["id"]
    flat = []
    for e, kids in tree:
        if e.level == 3:  # h3 before any h2: a top-level section of its own
            flat.append(TocEntry(e.id, e.title, 2, ()))
        else:
            flat.append(TocEntry(e.id, e.title, 2, tuple(kids)))
    return tuple(flat), missing


def _fix_links(body, key: str) -> None:
    """In-page links follow their renamed targets; links to anchors that do not exist go."""
    ids = {el.get("id") for el in body.iter() if el.get("id")}
    for a in list(body.iter("a")):
        href = a.get("href") or ""
        if not href.startswith("#"):
            continue
        frag = re.sub(r"[^\w-]", "", href[1:])[:40]
        target = next((t for t in (f"{key}-{frag}", f"{key}-a-{frag}") if t in ids), None)
        if target:
            a.set("href", "#" + target)
        else:
            unwrap(a)
