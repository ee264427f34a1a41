"""A chapter's XHTML body -> the same body marked up for the page (PDF book and handouts).

What the printed page needs and the EPUB does not (the EPUB keeps the author's markup):
- adjacent punctuation compressed (clreq §3.1.6): of a pair like ”， 。” ）（ 」。 one mark is
  wrapped in `<span class="halt">`, which the theme sets with the fonts' `halt` feature (half
  width): the first when its ink sits left (closing marks, stops), else the second (an opening
  mark, ink right);
- a break opportunity (U+200B, which WeasyPrint draws as nothing and writes no text for) before
  “ ‘ and after ” ’ where they touch a Han character: Pango 1.50 follows UAX #14 LB19 (no break
  beside quotation marks), which Unicode 15.1's LB19a relaxed for East Asian text;
- each external link followed by `<span class="link-note">URL</span>`, which the theme floats
  to the foot of the page as a numbered footnote (WeasyPrint's `float: footnote`); the link
  itself stays, so the screen PDF keeps it clickable.
- Latin runs beside 汉字 marked for the quarter-em spacing the theme gives them (autospace.py);
- no paragraph ending in a line of one 汉字 (孤字, with its closing marks): U+2060 WORD JOINER,
  which is drawn as nothing and writes no text, ties its last two characters together;
- a paragraph of only a short bold phrase (a heading in all but name) marked `.lead-in`, which
  the theme keeps with the paragraph after it;
- long tokens of inline code (a path, an identifier) may break after a separator (/ . _ - :),
  or anywhere in a piece still longer than twelve characters (U+200B): one that cannot leaves
  the line before it spaced out by an em or more.
Text inside pre, code, kbd and samp is left alone.
"""
from __future__ import annotations

import re

from lxml import etree

from .autospace import mark_latin_runs
from .justify import MARK
from .splice import splice

XHTML = "http://www.w3.org/1999/xhtml"
UNTOUCHED = {"pre", "code", "kbd", "samp", "script", "style"}
INK_LEFT = set("，。、；：”’」』）》〉】〕〗")  # closing marks and stops: their blank half is on the right
INK_RIGHT = set("“‘「『（《〈【〔〖")          # opening marks: blank half on the left
PUNCT = INK_LEFT | INK_RIGHT | set("？！")
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # 汉字, as a character class's ranges
ZWSP = "\u200b"
WJ = "\u2060"
# a paragraph's last Han character after another, followed by closing marks only
LONE_LAST = re.compile(f"(?<=[{HAN_RANGES}])(?=[{HAN_RANGES}][，。、；：？！”’」』）》〉】…—.,;:!?)\\]]*\\s*$)")
OPEN_QUOTE = re.compile(f"(?<=[{HAN_RANGES}])([“‘])")  # “ ‘ after 汉字
CLOSE_QUOTE = re.compile(f"([”’])(?=[{HAN_RANGES}])")  # ” ’ before 汉字


def typeset(body: str) -> str:
    """The chapter body (an XHTML fragment) with the page's markup added."""
    root = etree.fromstring(f'<div xmlns="{XHTML}">{body}</div>'.encode("utf-8"))
    _link_notes(root)
    for number, figure in enumerate(root.iter(f"{{{XHTML}}}figure")):
        figure.set("data-fig", str(number))  # for page makeup (makeup.py)
    mark_latin_runs(root)
    for tie in root.iter(f"{{{XHTML}}}span"):
        if tie.get("class") == "link-tie" and (tie.text or "").endswith(MARK):
            _mark_after_call(tie)
    for block in root.iter(f"{{{XHTML}}}p", f"{{{XHTML}}}li"):
        _tie_last_two(block)
    for p in root.iter(f"{{{XHTML}}}p"):
        if _lead_in(p):
            p.set("class", " ".join(filter(None, [p.get("class"), "lead-in"])))
    for code in root.iter(f"{{{XHTML}}}code"):
        if not any(_local(a) == "pre" for a in code.iterancestors()):
            _breakable(code)
    _walk(root)
    text = etree.tostring(root, encoding="unicode")
    return text[text.index(">") + 1:text.rindex("</div>")]


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _link_notes(root) -> None:
    for a in root.iter(f"{{{XHTML}}}a"):
        href = a.get("href", "")
        label = "".join(a.itertext()).strip()
        if not href.startswith(("http://", "https://")) or not label or href in label or a.getparent() is None:
            continue
        if any(_local(p) in ("pre", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6") for p in a.iterancestors()):
            continue
        note = etree.Element(f"{{{XHTML}}}span", {"class": "link-note"})
        note.text = href
        _tie_to_last_character(a, note)


def _lead_in(p) -> bool:
    """A paragraph of nothing but a short bold phrase: a heading in all but name (posts set
    「2. 选择排序」 so), which the theme keeps with what follows it."""
    kids = list(p)
    return (len(kids) == 1 and _local(kids[0]) in ("strong", "b") and not (p.text or "").strip()
            and not (kids[0].tail or "").strip() and 0 < len("".join(kids[0].itertext()).strip()) <= MAX_LEAD_IN)


def _mark_after_call(tie) -> None:
    """The spacing after a Latin link goes after its footnote call, not between the two: the
    mark moves to the start of the text that follows (a mark alone in a text of its own would
    show no width: Pango drops the halves at both ends)."""
    tie.text = tie.text[:-1]
    for node in [tie, *tie.iterancestors()]:
        if node.tail:
            node.tail = MARK + node.tail
            return
        if _local(node) in ("p", "li", "div"):
            return


def _tie_to_last_character(a, note) -> None:
    """Put the note's call right after the link's last character, in a no-break span with
    it, so the call never starts a line (UAX #14 would allow a break between 汉字 and a digit)."""
    last = a[-1] if len(a) else None
    text = (last.tail if last is not None else a.text) or ""
    if not text.rstrip():
        note.tail, a.tail = a.tail, None
        a.addnext(note)
        return
    text = text.rstrip()
    tie = etree.Element(f"{{{XHTML}}}span", {"class": "link-tie"})
    tie.text = text[-1]
    tie.append(note)
    if last is not None:
        last.tail = text[:-1]
    else:
        a.text = text[:-1]
    a.append(tie)


MAX_LEAD_IN = 30  # characters of a bold paragraph taken for a heading

LONG_TOKEN = re.compile(r"\S{13,}")  # inline code this long gets break opportunities inside


SEPARATOR = re.compile(r"[/._\-:]")  # a path or name breaks best after one of these
LONG_PIECE = 12


def _break_points(token: str) -> list[int]:
    """Where a long token of code may break: after its separators, and inside a piece between
    them that is still longer than LONG_PIECE; never among its first two or last three characters."""
    ends = [0] + [m.end() for m in SEPARATOR.finditer(token)] + [len(token)]
    points = set(ends[1:-1])
    for start, end in zip(ends, ends[1:]):
        if end - start > LONG_PIECE:
            points.update(range(start + 1, end))
    return sorted(p for p in points if 2 <= p <= len(token) - 3)


def _breakable(code) -> None:
    """Break opportunities inside the long tokens of an inline code element (U+200B)."""
    def spread(m: re.Match) -> str:
        token = m.group(0)
        cuts = [0, *_break_points(token), len(token)]
        return ZWSP.join(token[a:b] for a, b in zip(cuts, cuts[1:]))
    for node in code.iter():
        if node.text:
            node.text = LONG_TOKEN.sub(spread, node.text)
        if node is not code and node.tail:
            node.tail = LONG_TOKEN.sub(spread, node.tail)


def _tie_last_two(block) -> None:
    """A word joiner before the block's last Han character when another precedes it in the
    same text (WeasyPrint breaks lines without looking ahead, so nothing else keeps a lone
    character off the last line). Blocks holding other blocks are left to their own."""
    if any(_local(e) in ("p", "ul", "ol", "div", "blockquote", "table", "pre", "figure") for e in block.iterdescendants()):
        return
    last = None
    for element in block.iter():
        if element is not block and _local(element) in UNTOUCHED | {"br"}:
            last = None  # code ends the paragraph's text: leave it
        elif "link-note" in (element.get("class") or "").split():
            continue
        elif element.text and element.text.strip():
            last = (element, "text")
        if element is not block and element.tail and element.tail.strip():
            last = (element, "tail")
    if last is not None:
        setattr(last[0], last[1], LONE_LAST.sub(WJ, getattr(last[0], last[1]), count=1))


def _walk(element) -> None:
    if _local(element) in UNTOUCHED:
        return
    if _local(element) == "span" and element.get("class") == "link-note":
        return
    for child in list(element):
        _walk(child)
        if child.tail:
            pieces = _pieces(child.tail)
            if pieces != [child.tail]:
                splice(child, "tail", pieces)
    if element.text:
        pieces = _pieces(element.text)
        if pieces != [element.text]:
            splice(element, "text", pieces)


def _pieces(text: str) -> list:
    """Text split into plain strings and ('halt', mark) pieces, with break opportunities added."""
    text = _break_beside_quotes(text)
    chars = list(text)
    halt = set()
    for i in range(len(chars) - 1):
        a, b = chars[i], chars[i + 1]
        if a in PUNCT and b in PUNCT and i not in halt:
            if a in INK_LEFT:
                halt.add(i)
            elif b in INK_RIGHT or b in INK_LEFT:  # after ？！ (ink centred) a closing mark gives its blank half
                halt.add(i + 1)
    if not halt:
        return [text]
    out: list = []
    start = 0
    for i in sorted(halt):
        if i > start:
            out.append(text[start:i])
        out.append(("halt", text[i]))
        start = i + 1
    if start < len(text):
        out.append(text[start:])
    return out


def _break_beside_quotes(text: str) -> str:
    text = OPEN_QUOTE.sub(ZWSP + r"\1", text)
    return CLOSE_QUOTE.sub(r"\1" + ZWSP, text)


def typeset_inline(text: str):
    """A plain string the templates set (a title, a 目录 entry, a source in the colophon) as
    markup with the body's treatment: compressed pairs, Chinese-Latin spacing, and no break
    inside a 《book title》 or before a title's last two characters (a Jinja2 filter)."""
    from markupsafe import Markup

    root = etree.Element(f"{{{XHTML}}}span", nsmap={None: XHTML})
    root.text = text
    mark_latin_runs(root)
    _walk(root)
    _keep_together(root)
    out = etree.tostring(root, encoding="unicode")
    return Markup(out[out.index(">") + 1:out.rindex("</span>")])


BOOK_TITLE = re.compile(r"《[^《》]{1,12}》")  # a short book title is never broken
LAST = re.compile(r"《[^《》]{1,12}》|\S{3}$")  # and a title's last line has three characters at least


def _keep_together(root) -> None:
    """Wrap the root's own text pieces that must not break in `<span class="keep">`."""
    pieces_of = [(root, "text")] + [(child, "tail") for child in root]
    total = len("".join(root.itertext()))
    for k, (owner, where) in enumerate(pieces_of):
        text = getattr(owner, where) or ""
        pattern = LAST if k == len(pieces_of) - 1 and total >= 8 else BOOK_TITLE
        found = list(pattern.finditer(text))
        if not found:
            continue
        pieces, at = [], 0
        for m in found:
            pieces += [text[at:m.start()], ("keep", m.group(0))]
            at = m.end()
        splice(owner, where, pieces + [text[at:]])
