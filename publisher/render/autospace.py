"""Chinese–Latin spacing marked up: a page's XHTML tree -> the same tree with a mark where a
Latin run touches a Han character.

clreq §3.2.2 asks for about a quarter em between 汉字 and Latin letters or digits, as spacing
(the text stays the author's). Each side of a Latin run that touches Han gets MARK, U+2063
INVISIBLE SEPARATOR, in the run's own text: a default-ignorable character (no glyph is drawn
and no text is written for it in the PDF) of line-break class AL, so it keeps to its run and
breaks stay where they were. render/justify.py gives a mark the theme's width
(`--cjk-latin-space`) as Pango letter-spacing and takes it away at a line's start or end, so
lines stay flush. A mark costs nothing in layout; the inline element each run needed before
cost about a sixth of a book's layout time.

A run is letters and digits with the marks that join them (v1.4, md5_id, 95%); it is found
across inline elements (a Han character before `<strong>11</strong>` counts), never across
blocks. Inline code keeps its text: the code element itself gets the classes `.as-l` (Han on
its left) and `.as-r` (on its right), which the theme gives margins (dropped at line edges too).
"""
from __future__ import annotations

import re

from lxml import etree

from .justify import MARK

XHTML = "http://www.w3.org/1999/xhtml"
HAN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = "A-Za-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
LATIN_RUN = re.compile(f"[{_WORD}]+(?:[._\\-/:+#&'’@][{_WORD}]+)*%?")
BLOCKS = {"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "td", "th", "figure",
          "figcaption", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "section", "header", "hr", "br",
          "img", "aside", "nav", "caption"}
OPAQUE = {"code", "kbd", "samp", "pre", "script", "style"}  # text never split, the element is marked instead


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def mark_text(text: str) -> str:
    """A plain string with its Latin runs marked where they touch Han (a running head, set from
    an attribute: a Jinja2 filter)."""
    return _marked(text, "", "")


def mark_latin_runs(root) -> None:
    """Wrap or mark the Latin runs of every block under `root` (in place)."""
    for segments in _blocks(root):
        _mark(segments)


def _blocks(root):
    """Per block: its inline text segments in reading order, as (element, 'text'|'tail')
    pairs, or ('opaque', element) for inline code; a nested block ends one run of segments."""
    current: list = []
    out = [current]

    def walk(element):
        nonlocal current
        name = _local(element)
        if "link-note" in (element.get("class") or "").split():  # floated to the foot: not in the line
            if element.tail:
                current.append((element, "tail"))
            return
        block = name in BLOCKS
        if block:
            current = []
            out.append(current)
        if name in OPAQUE and not block:
            current.append(("opaque", element))
        elif element.text and name not in OPAQUE:
            current.append((element, "text"))
        if name not in OPAQUE:
            for child in element:
                walk(child)
        if block:
            current = []
            out.append(current)
        if element.tail:
            current.append((element, "tail"))

    walk(root)
    return [s for s in out if s]


def _text(segment) -> str:
    owner, where = segment
    if owner == "opaque":
        return "".join(where.itertext())
    return getattr(owner, where) or ""


def _mark(segments: list) -> None:
    texts = [_text(s) for s in segments]
    for k, segment in enumerate(segments):
        before = next((t[-1] for t in reversed(texts[:k]) if t), "")
        after = next((t[0] for t in texts[k + 1:] if t), "")
        if segment[0] == "opaque":
            _mark_element(segment[1], texts[k], before, after)
        else:
            _mark_runs(segment, texts[k], before, after)


def _mark_element(element, text: str, before: str, after: str) -> None:
    sides = []  # inline code is set apart from 汉字 whatever it starts or ends with
    if text.strip() and HAN.match(before or " "):
        sides.append("as-l")
    if text.strip() and HAN.match(after or " "):
        sides.append("as-r")
    if sides:
        element.set("class", " ".join(filter(None, [element.get("class", "")] + sides)))


def _mark_runs(segment, text: str, before: str, after: str) -> None:
    marked = _marked(text, before, after)
    if marked != text:
        setattr(segment[0], segment[1], marked)


def _marked(text: str, before: str, after: str) -> str:
    """`text` with MARK on each side of a Latin run that touches Han (`before`/`after`: the
    characters around it outside `text`)."""
    pieces: list = []
    at = 0
    for m in LATIN_RUN.finditer(text):
        left = text[m.start() - 1] if m.start() else before
        right = text[m.end()] if m.end() < len(text) else after
        pieces += [text[at:m.start()], MARK if HAN.match(left or " ") else "", m.group(0),
                   MARK if HAN.match(right or " ") else ""]
        at = m.end()
    return "".join(pieces) + text[at:]
