"""A sanitized tree -> a tree of proper blocks: paragraphs, figures with captions, lists, code.

Feeds mix text, <br>, divs and images freely. Here divs are flattened into the blocks they
hold, loose text and text between <br>s become paragraphs, each image outside a table or list
becomes a <figure>, a centred short paragraph right under a figure becomes its <figcaption>,
and empty paragraphs, list items and wrappers disappear. Output satisfies XHTML content models.
"""
from __future__ import annotations

import copy
import re

from lxml import etree

from .clean import BLANK, unwrap
from .repair import fill, fix_headings, fix_lists, fix_pre, fix_tables, hoist_blocks

BLOCK_LEVEL = {"p", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "dl", "pre", "figure", "table", "hr"}
INLINE_TAGS = {"a", "strong", "em", "code", "kbd", "samp", "var", "sub", "sup", "u", "s", "del", "ins", "mark",
               "small", "abbr", "q", "ruby", "rt", "rp"}
MAX_CAPTION = 80
MAX_PARAGRAPH = 3000  # characters; WeasyPrint's line breaking grows faster than linearly past this
SENTENCE_END = re.compile(r"(?<=[。！？!?；;.])")


def structure(body: etree._Element) -> etree._Element:
    """Rebuild `body` as blocks, in place; return it."""
    _strip_invisible(body)
    fix_headings(body)
    hoist_blocks(body)
    fix_tables(body)
    _fix_figures(body)
    fix_lists(body)
    fix_pre(body)
    hoist_blocks(body)  # what the repairs above made (a table of no cells becomes a div)
    for container in [body] + list(body.iter("blockquote", "li", "td", "th", "dd")):
        if container is body or container.tag == "blockquote" or container.find("div") is not None:
            _blockify(container, always=container.tag in ("blockquote",) or container is body)
    for div in list(body.iter("div")):
        unwrap(div)  # what blockify left is inside headings, paragraphs or captions: inline only
    _hoist_images(body)
    _bind_captions(body)
    _drop_empty(body)
    _join_code_fragments(body)
    _split_long_paragraphs(body)
    for el in body.iter():
        el.attrib.pop("data-pub-centred", None)
        if el.attrib.pop("data-pub-embed", None):
            el.set("class", "embed")
    return body


def _strip_invisible(body) -> None:
    for el in body.iter():
        if el.text and "\u200b" in el.text:
            el.text = el.text.replace("\u200b", "").replace("\ufeff", "")
        if el.tail and "\u200b" in el.tail:
            el.tail = el.tail.replace("\u200b", "").replace("\ufeff", "")


def _nodes(el) -> list:
    """Detach `el`'s content as a list of strings and elements (tails split off)."""
    out = [el.text] if el.text else []
    el.text = None
    for child in list(el):
        tail, child.tail = child.tail, None
        el.remove(child)
        out.append(child)
        if tail:
            out.append(tail)
    return out


def _paragraph(run: list, centred: bool):
    """A <p> from inline nodes, or None when they hold nothing visible."""
    if not any(not isinstance(n, str) and n.tag != "br" or isinstance(n, str) and not BLANK.match(n) for n in run):
        return None
    while run and (isinstance(run[-1], str) and BLANK.match(run[-1]) or not isinstance(run[-1], str) and run[-1].tag == "br"):
        run.pop()
    p = etree.Element("p")
    if centred:
        p.set("data-pub-centred", "1")
    fill(p, run)
    last = p[-1] if len(p) else None
    if p.text:
        p.text = p.text.lstrip()
    if last is not None and last.tail:
        last.tail = last.tail.rstrip()
    elif last is None and p.text:
        p.text = p.text.rstrip()
    return p


def _trim_breaks(p) -> None:
    """No <br> before a paragraph's first words or after its last (feeds write <p><br>text):
    it would open the paragraph with an empty line and lose its indent."""
    while len(p) and p[0].tag == "br" and not (p.text or "").strip():
        first = p[0]
        p.text = (p.text or "") + (first.tail or "")
        p.remove(first)
    while len(p) and p[-1].tag == "br" and not (p[-1].tail or "").strip():
        p.remove(p[-1])
    if p.text:
        p.text = p.text.lstrip()


def _flatten(el, centred: bool) -> list:
    blocks, run = [], []

    def flush():
        p = _paragraph(run, centred)
        if p is not None:
            blocks.append(p)
        run.clear()

    for node in _nodes(el):
        if isinstance(node, str):
            run.append(node)
        elif node.tag == "div":
            flush()
            blocks += _flatten(node, centred or bool(node.get("data-pub-centred")))
        elif node.tag == "br":
            flush()
        elif node.tag in BLOCK_LEVEL:
            flush()
            if node.tag == "p":
                _trim_breaks(node)
                if centred:
                    node.set("data-pub-centred", "1")
            blocks.append(node)
        else:
            run.append(node)
    flush()
    return blocks


def _blockify(container, always: bool) -> None:
    blocks = _flatten(container, bool(container.get("data-pub-centred")))
    for block in blocks:
        container.append(block)
    if not always and len(blocks) == 1 and blocks[0].tag == "p":
        unwrap(blocks[0])  # a list item or cell with a single paragraph stays inline



def _fix_figures(body) -> None:
    for figure in list(body.iter("figure")):
        if figure.find(".//img") is None:
            figure.tag = "div"  # nothing to show: its words are text like any other
    for caption in list(body.iter("figcaption")):
        if next(caption.iterancestors("figure"), None) is None:
            caption.tag = "div"  # a caption of no figure, likewise
    for figure in list(body.iter("figure")):
        imgs = list(figure.iter("img"))
        caption = next(iter(figure.iter("figcaption")), None)
        text = " ".join("".join(caption.itertext()).split()) if caption is not None else ""
        if caption is not None:
            caption.text = None  # what is left is the figure's other text (its tail stays)
            for child in list(caption):
                caption.remove(child)
        other = " ".join("".join(figure.itertext()).split())
        if other and not text:
            text = other  # words in a figure beside its image describe it
        elif other:
            note = etree.Element("p")
            note.text, note.tail, figure.tail = other, figure.tail, None
            figure.addnext(note)
        for child in list(figure):
            figure.remove(child)
        figure.text = None
        for img in imgs:
            img.tail = None
            figure.append(img)
        if text:
            etree.SubElement(figure, "figcaption").text = text


def _split_at(block, node):
    """Copies of `block` holding what comes before and after its descendant `node`."""
    path, current = [], node
    while current is not block:
        parent = current.getparent()
        path.append(parent.index(current))
        current = parent
    path.reverse()
    before, after = copy.deepcopy(block), copy.deepcopy(block)
    cur = before
    for depth, index in enumerate(path):
        children = list(cur)
        for child in children[index + 1:]:
            cur.remove(child)
        if depth == len(path) - 1:
            target = children[index]
            target.tail = None
            cur.remove(target)
        else:
            children[index].tail = None
            cur = children[index]
    cur = after
    for depth, index in enumerate(path):
        children = list(cur)
        cur.text = None
        for child in children[:index]:
            cur.remove(child)
        if depth == len(path) - 1:
            tail = children[index].tail
            cur.remove(children[index])
            cur.text = tail
        else:
            cur = children[index]
    return before, after


def _has_content(el) -> bool:
    return el.find(".//img") is not None or not BLANK.match("".join(el.itertext()))


HOIST_STOP = ("figure", "table", "li", "dd", "dt", "h2", "h3", "h4", "h5", "h6", "pre")


def _hoist_images(body) -> None:
    """Every image in a paragraph becomes a figure of its own, between the paragraph's halves.
    Linear in the number of images: only an image nested in inline markup costs a copy."""
    for p in list(body.iter("p")):
        if p.find(".//img") is None or next(p.iterancestors(*HOIST_STOP), None) is not None:
            continue
        while (img := next((i for i in p.iter("img") if i.getparent() is not p), None)) is not None:
            inline = next(a for a in img.iterancestors() if a.getparent() is p)
            before, after = _split_at(inline, img)
            tail, inline.tail = inline.tail, None
            img.tail = None
            for part in (before, img, after):
                if part is img or _has_content(part):
                    inline.addprevious(part)
            (after if _has_content(after) else img).tail = tail
            p.remove(inline)
        blocks, run = [], []
        for node in _nodes(p):
            if isinstance(node, str) or node.tag != "img":
                run.append(node)
                continue
            blocks.append(_paragraph(run, False))
            run = []
            figure = etree.Element("figure")
            figure.append(node)
            blocks.append(figure)
        blocks.append(_paragraph(run, False))
        blocks = [b for b in blocks if b is not None]
        for block in blocks:
            if block.tag == "p":
                for name, value in p.attrib.items():
                    block.set(name, value)
        tail = p.tail
        for block in blocks:
            p.addprevious(block)
        blocks[-1].tail = tail
        p.getparent().remove(p)
    for img in list(body.iter("img")):
        parent = img.getparent()
        if parent is body or parent.tag == "blockquote":
            figure = etree.Element("figure")
            img.addprevious(figure)
            figure.tail, img.tail = img.tail, None
            figure.append(img)


def _bind_captions(body) -> None:
    for figure in list(body.iter("figure")):
        if figure.find("figcaption") is not None:
            continue
        nxt = figure.getnext()
        if (nxt is not None and nxt.tag == "p" and nxt.get("data-pub-centred") and nxt.find(".//img") is None
                and 0 < len("".join(nxt.itertext()).strip()) <= MAX_CAPTION):
            caption = etree.SubElement(figure, "figcaption")
            caption.text = nxt.text
            for child in list(nxt):
                caption.append(child)
            figure.tail = nxt.tail
            nxt.getparent().remove(nxt)


OPEN_END = re.compile(r"[^。！？!?；;：:…）)」』”\s]\s*$")  # a paragraph whose sentence goes on
MAX_FRAGMENT = 40  # characters of inline code a paragraph of its own may hold and still be a fragment


def _join_code_fragments(body) -> None:
    """Feeds that export inline code as paragraphs of their own (a zhihu export:
    <p>为什么加上</p><p><code>!</code></p><p>返回就是</p><p><code>False</code></p><p>，不加则返回</p>…)
    -> one paragraph again. A paragraph of nothing but a short inline <code> continues the
    sentence before it when that one is unfinished, and the paragraph after such a fragment
    continues it too; a sentence that ended, a colon before a command, start a paragraph."""
    for container in [body, *body.iter("blockquote", "li", "td", "th", "dd")]:
        current, after_code = None, False
        for el in list(container):
            if el.tag != "p":
                current = None
                continue
            fragment = _code_fragment(el)
            # after a fragment the sentence goes on whatever the code ended with (`!`, `True`)
            if current is not None and (after_code or fragment and OPEN_END.search("".join(current.itertext()))):
                _append_paragraph(current, el)
                after_code = fragment
            else:
                current, after_code = el, False


def _code_fragment(p) -> bool:
    kids = list(p)
    return (len(kids) == 1 and kids[0].tag == "code" and not len(kids[0]) and not (p.text or "").strip()
            and not (kids[0].tail or "").strip() and 0 < len(kids[0].text or "") <= MAX_FRAGMENT
            and "\n" not in kids[0].text)


def _append_paragraph(current, p) -> None:
    """`p`'s content at the end of `current` (a space between two Latin words), `p` removed."""
    end = "".join(current.itertext())[-1:]
    start = "".join(p.itertext()).lstrip()[:1]
    joint = " " if end.isascii() and end.isalnum() and start.isascii() and start.isalnum() else ""
    text = joint + (p.text or "").lstrip()
    if len(current):
        current[-1].tail = (current[-1].tail or "").rstrip() + text
    else:
        current.text = (current.text or "").rstrip() + text
    for child in list(p):
        current.append(child)
    p.getparent().remove(p)


def _drop_empty(body) -> None:
    for el in reversed(list(body.iter("p", "li", "strong", "em", "span", "blockquote", "a", "dd", "dt", "h4", "h5", "h6"))):
        if el.getparent() is None or el.find(".//img") is not None or el.find(".//br") is not None and el.tag != "p":
            continue
        if BLANK.match("".join(el.itertext())):
            if el.tag in ("strong", "em", "span", "a"):
                unwrap(el)
            else:
                tail = el.tail
                parent = el.getparent()
                previous = el.getprevious()
                parent.remove(el)
                if tail and not BLANK.match(tail):
                    if previous is not None:
                        previous.tail = (previous.tail or "") + tail
                    else:
                        parent.text = (parent.text or "") + tail
    for strong in list(body.iter("strong")):
        if strong.getparent() is not None and next(strong.iterancestors("strong"), None) is not None:
            unwrap(strong)


def _split_long_paragraphs(body) -> None:
    """A paragraph longer than MAX_PARAGRAPH characters becomes several, cut after sentences
    (or anywhere, for text without any), so layout time stays linear in the text."""
    for p in list(body.iter("p")):
        if len("".join(p.itertext())) <= MAX_PARAGRAPH:
            continue
        chunks: list[list] = [[]]
        size = 0
        for node in _nodes(p):
            pieces = _sentences(node) if isinstance(node, str) else [node]
            for piece in pieces:
                length = len(piece) if isinstance(piece, str) else len("".join(piece.itertext()))
                if size and size + length > MAX_PARAGRAPH:
                    chunks.append([])
                    size = 0
                chunks[-1].append(piece)
                size += length
        tail, p.tail = p.tail, None
        parts = [q for q in (_paragraph(chunk, False) for chunk in chunks) if q is not None]
        for part in parts:
            for name, value in p.attrib.items():
                part.set(name, value)
        p.getparent().replace(p, parts[0])
        for previous, part in zip(parts, parts[1:]):
            previous.addnext(part)
        parts[-1].tail = tail


def _sentences(text: str) -> list[str]:
    pieces = []
    for sentence in SENTENCE_END.split(text):
        while len(sentence) > MAX_PARAGRAPH:
            pieces.append(sentence[:MAX_PARAGRAPH])
            sentence = sentence[MAX_PARAGRAPH:]
        if sentence:
            pieces.append(sentence)
    return pieces
