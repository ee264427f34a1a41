"""Episode -> Episode in Traditional Chinese: the edition stage (`build --edition zh-TW`).

Between normalize and the book, a Simplified Chinese series becomes a Traditional one: the text
of each episode (body, title, sections, author) and of the manifest (title, subtitle,
description) is converted with OpenCC, whose phrase tables carry regional wording (软件 is
軟體 in Taiwan, 軟件 in Hong Kong), and quotation marks “‘’” become 「『』」, the Taiwan and
Hong Kong convention. Left alone: code (`pre`, `code`, `kbd`, `samp`), URLs, attribute values
other than text ones (`alt`, `title`), the terms an `[editions.NAME]` table lists under `keep`,
and episodes already written in Traditional Chinese or Japanese (normalize tells, by their
characters: normalize/language.py).
The theme's own words (目录, 版权信息, running heads) are converted by `edition_theme`, which
also swaps the Noto CJK SC faces for the edition's TC or HK ones.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import jinja2
from lxml import etree

from .cache import code_version
from .errors import PublisherError
from .manifest import Manifest
from .normalize import Episode, TocEntry
from .normalize.language import SIMPLIFIED_TAGS, TRADITIONAL_TAGS
from .normalize.store import EpisodeStore
from .themes import Theme

# name -> (OpenCC configuration, Noto CJK region of the faces). OpenCC's configurations:
# https://github.com/BYVoid/OpenCC#configurations-配置文件
BUILTIN = {"zh-TW": ("s2twp", "TC"), "zh-HK": ("s2hk", "HK"), "zh-Hant": ("s2t", "TC")}
SKIP = {"pre", "code", "kbd", "samp", "script", "style"}  # text that is code, not prose
TEXT_ATTRIBUTES = ("alt", "title", "aria-label")
SEPARATOR = "\ue000"  # a private-use character: in no OpenCC dictionary, so no phrase spans it
URL = re.compile(r"(?:https?|ftp)://[^\s<>\"'，。；、）」\ue000]+|www\.[^\s<>\"'，。；、）」\ue000]+")
CJK_QUOTES = {"“": "「", "”": "」", "‘": "『", "’": "』"}
CODE_VERSION = code_version(Path(__file__))  # part of the store's key


class UnknownEdition(PublisherError):
    category = "usage"


@dataclass(frozen=True)
class Edition:
    """What makes an edition: its name (also the output suffix), its language tag, the OpenCC
    configuration, the Noto CJK region of its faces, and what series.toml says of it."""

    name: str
    language: str
    opencc: str
    faces: str
    title: str = ""
    keep: tuple[str, ...] = ()
    identifier: str = ""


def find_edition(manifest: Manifest, name: str) -> Edition:
    """`--edition NAME` -> the Edition: a built-in one (zh-TW, zh-HK, zh-Hant), adjusted or
    defined by `[editions.NAME]` in series.toml."""
    settings = next((e for e in manifest.editions if e.name == name), None)
    if name not in BUILTIN and (settings is None or not settings.opencc):
        known = sorted(set(BUILTIN) | {e.name for e in manifest.editions})
        raise UnknownEdition(f"unknown edition {name!r} (known: {', '.join(known)}; another needs "
                             f"[editions.{name}] with opencc = \"s2t\" or the like)", manifest.path)
    config, faces = BUILTIN.get(name, ("s2t", "TC"))
    if settings is None:
        return Edition(name, name, config, faces)
    config = settings.opencc or config
    faces = faces if name in BUILTIN else ("HK" if config == "s2hk" else "TC")
    return Edition(name, name, config, faces, settings.title, settings.keep, settings.identifier)


class Converter:
    """Simplified -> Traditional text with OpenCC, URLs and the `keep` terms left as they are."""

    def __init__(self, config: str, keep: tuple[str, ...] = ()):
        self._opencc = _opencc(config)
        terms = sorted({t for t in keep if t}, key=len, reverse=True)
        self._protected = re.compile("|".join([URL.pattern] + [re.escape(t) for t in terms]))

    def __call__(self, text: str) -> str:
        if not text or text.isascii():
            return text
        out, start = [], 0
        for m in self._protected.finditer(text):
            out += [self._opencc.convert(text[start:m.start()]), m.group(0)]
            start = m.end()
        out.append(self._opencc.convert(text[start:]))
        return "".join(out)

    def many(self, texts: list[str]) -> list[str]:
        """Each of `texts` converted, in one call to OpenCC (about 0.1 ms a call: an episode has
        hundreds of text nodes)."""
        if any(SEPARATOR in t for t in texts):
            return [self(t) for t in texts]
        out = self(SEPARATOR.join(texts)).split(SEPARATOR)
        return out if len(out) == len(texts) else [self(t) for t in texts]


@functools.lru_cache(maxsize=8)
def _opencc(config: str):
    import opencc  # imported when an edition is built: the Simplified build never needs it
    return opencc.OpenCC(config)


class Quotes:
    """“…” -> 「…」 and ‘…’ -> 『…』 across a run of text pieces. A quotation opened inside
    Latin text (He said “yes”) stays as it is, and so does its closing mark; a ’ with no ‘ open
    is an apostrophe (don’t)."""

    def __init__(self):
        self.open: dict[str, list[bool]] = {"“": [], "‘": []}  # converted or not, per open quotation

    def __call__(self, text: str) -> str:
        if not any(q in text for q in CJK_QUOTES):
            return text
        chars = list(text)
        for i, ch in enumerate(chars):
            if ch in self.open:
                convert = not _in_latin(text, i)
                self.open[ch].append(convert)
            elif ch in CJK_QUOTES:
                opened = self.open["“" if ch == "”" else "‘"]
                convert = opened.pop() if opened else ch == "”" and not _in_latin(text, i)
            else:
                continue
            if convert:
                chars[i] = CJK_QUOTES[ch]
        return "".join(chars)


def _in_latin(text: str, i: int) -> bool:
    """Whether the mark at `i` sits in Latin text: ASCII on both sides, a letter or digit on one
    (a piece's edge counts as CJK: Chinese paragraphs often open with a quotation)."""
    before, after = text[i - 1:i], text[i + 1:i + 2]
    return bool(before) and before.isascii() and after.isascii() and (before.isalnum() or after.isalnum())


def prose(convert: Converter, text: str) -> str:
    """A short piece of text (a title, a name) converted, quotes included."""
    return Quotes()(convert(text))


def convert_episodes(episodes: list[Episode], edition: Edition, store: EpisodeStore | None = None) -> list[Episode]:
    """Each episode in the edition's script; a converted one comes from `store` when the
    episode, the edition, this module and OpenCC are unchanged. The edition is part of the
    key, so an edition's episodes never collide with the series' own or another edition's."""
    converted = []
    for episode in episodes:
        digest = _store_key(episode, edition) if store else ""
        done = store.load(digest) if store else None
        if done is None:
            done = convert_episode(episode, edition)
            if store:
                store.save(digest, done)
        converted.append(done)
    return converted


def _store_key(episode: Episode, edition: Edition) -> str:
    import opencc
    payload = [CODE_VERSION, opencc.__version__, asdict(edition), asdict(episode)]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")).hexdigest()


def convert_episode(episode: Episode, edition: Edition) -> Episode:
    """An episode in the edition's script. One already in Traditional Chinese or Japanese (as
    normalize's language detection tagged it, normalize/language.py) is left as written."""
    if TRADITIONAL_TAGS.match(episode.lang) or episode.lang.lower().startswith("ja"):
        return episode
    convert = _converter(edition.opencc, edition.keep)
    source = episode.source
    overrides = {k: prose(convert, v) for k in ("subtitle", "short_title") if (v := getattr(source, k)) is not None}
    source = dataclasses.replace(source, title=prose(convert, source.title), author=convert(source.author),
                                 categories=tuple(convert(c) for c in source.categories), **overrides)
    return dataclasses.replace(
        episode, source=source, title=prose(convert, episode.title), author=convert(episode.author),
        credited=convert(episode.credited),
        lang=edition.language if SIMPLIFIED_TAGS.match(episode.lang) else episode.lang,
        body=convert_body(episode.body, convert), sections=tuple(_entry(e, convert) for e in episode.sections))


def _entry(entry: TocEntry, convert: Converter) -> TocEntry:
    return TocEntry(entry.id, prose(convert, entry.title), entry.level, tuple(_entry(c, convert) for c in entry.children))


def convert_body(body: str, convert: Converter) -> str:
    """An XHTML fragment with its prose converted: text and tails outside code, text
    attributes; element names, ids, URLs and code untouched."""
    root = etree.fromstring(f"<div>{body}</div>", etree.XMLParser(huge_tree=True))
    slots = list(_prose_slots(root, False))
    quotes = Quotes()  # one for the running text: a quotation may span elements
    for (el, where), text in zip(slots, convert.many([_slot(el, where) for el, where in slots])):
        if where in ("text", "tail"):
            setattr(el, where, quotes(text))
        else:
            el.set(where, Quotes()(text))
    head = _escape(root.text) if root.text else ""
    return head + "".join(etree.tostring(child, encoding="unicode", with_tail=True) for child in root)


def _prose_slots(el, in_code: bool):
    """(element, "text" | "tail" | attribute name) of each piece of prose, in reading order."""
    code = in_code or el.tag in SKIP
    if el.text and not code:
        yield el, "text"
    for name in TEXT_ATTRIBUTES:
        if el.get(name):
            yield el, name
    for child in el:
        if isinstance(child.tag, str):
            yield from _prose_slots(child, code)
        if child.tail and not in_code:
            yield child, "tail"


def _slot(el, where: str) -> str:
    return getattr(el, where) if where in ("text", "tail") else el.get(where)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def convert_manifest(manifest: Manifest, edition: Edition) -> Manifest:
    """The series' settings for the edition: its words converted, its language, its own
    identifier (stable: derived from the series' one unless series.toml gives one)."""
    convert = _converter(edition.opencc, edition.keep)
    identifier = edition.identifier or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{manifest.identifier}#{edition.name}')}"
    return dataclasses.replace(
        manifest, title=edition.title or prose(convert, manifest.title), subtitle=prose(convert, manifest.subtitle),
        description=prose(convert, manifest.description), publisher=convert(manifest.publisher),
        authors=tuple(convert(a) for a in manifest.authors), language=edition.language, identifier=identifier,
        edition=edition.name)


FACE = re.compile(r"\b(Noto (?:Serif|Sans|Sans Mono) CJK) SC\b")


@functools.lru_cache(maxsize=8)
def _converter(config: str, keep: tuple[str, ...] = ()) -> Converter:
    return Converter(config, keep)


def restyle(source: str, edition: Edition) -> str:
    """A template or stylesheet of the theme for the edition: its words converted (OpenCC
    changes only Han characters, so Jinja2 and CSS syntax pass through), its Noto CJK SC faces
    swapped for the edition's region."""
    return FACE.sub(rf"\1 {edition.faces}", _converter(edition.opencc)(source))


@dataclass(frozen=True)
class EditionTheme(Theme):
    """A theme whose own words (templates, stylesheets, labels like 目录) read in the edition's
    script, set in the edition's faces."""

    edition: Edition | None = None

    def css(self, name: str) -> str:
        return restyle(super().css(name), self.edition)

    def text(self, words: str) -> str:
        return _converter(self.edition.opencc)(words)


class _EditionLoader(jinja2.BaseLoader):
    """The theme's loader, with each template source passed through `restyle`."""

    def __init__(self, base: jinja2.BaseLoader, edition: Edition):
        self.base, self.edition = base, edition

    def get_source(self, environment, template):
        source, filename, uptodate = self.base.get_source(environment, template)
        return restyle(source, self.edition), filename, uptodate


def edition_theme(theme: Theme, edition: Edition) -> EditionTheme:
    """Theme -> the same theme for the edition (templates compiled afresh: own cache)."""
    env = theme.env.overlay(loader=_EditionLoader(theme.env.loader, edition), cache_size=100)
    fields = {f.name: getattr(theme, f.name) for f in dataclasses.fields(theme)}
    return EditionTheme(**{**fields, "env": env}, edition=edition)
