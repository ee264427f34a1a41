"""Content-model repairs on a sanitized tree, before it is rebuilt as blocks.

Posts break XHTML's content models in a handful of recurring ways: blocks inside paragraphs
and links (an <iframe> or <figure> mid-paragraph, a <p> inside <a>), table parts outside tables
(a post quoting "<tr>"), lists holding other lists directly, markup inside <pre>, headings
holding line breaks and <strong>. Each function here mends one of them in place, the way an
HTML5 parser would (WHATWG HTML §13.2.6.4.7: a block start tag closes an open <p>; formatting
elements such as <a> are reopened inside the blocks that interrupt them).
"""
from __future__ import annotations

from lxml import etree

from .clean import BLANK, unwrap

TABLE_PARTS = ("caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "td", "th")
PHRASING = ("a", "strong", "em", "code", "kbd", "samp", "var", "sub", "sup", "u", "s", "del", "ins", "mark",
            "small", "abbr", "q", "ruby", "rt", "rp")
# what may not stay inside a paragraph or a phrasing element
FLOW = {"p", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "dl", "dt", "dd", "li", "pre", "figure",
        "figcaption", "table", "hr", "div"} | set(TABLE_PARTS)
TEXT_BLOCKS = ("p", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "figcaption", "td", "th")


def hoist_blocks(body) -> None:
    """Blocks inside phrasing elements and paragraphs move out: a phrasing element holding
    blocks is split into copies around them (and reopened inside text blocks, keeping a link
    on a paragraph it wrapped); a paragraph holding a block ends before it and resumes after."""
    for el in reversed(list(body.iter(*PHRASING))):
        if el.getparent() is not None and any(child.tag in FLOW for child in el):
            _distribute(el)
    for p in reversed(list(body.iter("p"))):
        if p.getparent() is not None and any(child.tag in FLOW for child in p):
            _split_paragraph(p)
    for a in list(body.iter("a")):
        if next(a.iterancestors("a"), None) is not None:
            unwrap(a)  # HTML: an <a> start tag closes the open one; here the outer link keeps the text


def _runs(el) -> list:
    """Detach `el`'s content: a list of (is_block, [strings and elements])."""
    runs: list = []
    nodes = [el.text] if el.text else []
    el.text = None
    for child in list(el):
        tail, child.tail = child.tail, None
        el.remove(child)
        nodes += [child] + ([tail] if tail else [])
    for node in nodes:
        block = not isinstance(node, str) and node.tag in FLOW
        if block or not runs or runs[-1][0]:
            runs.append((block, [node]))
        else:
            runs[-1][1].append(node)
    return runs


def fill(el, nodes: list) -> None:
    """Append strings and elements to `el` in order."""
    for node in nodes:
        if isinstance(node, str):
            last = el[-1] if len(el) else None
            if last is None:
                el.text = (el.text or "") + node
            else:
                last.tail = (last.tail or "") + node
        else:
            el.append(node)


def _replace(el, nodes: list) -> None:
    """Put `nodes` where `el` is (its tail after them) and remove `el`."""
    parent, tail = el.getparent(), el.tail
    holder = etree.Element("holder")
    fill(holder, nodes)
    if holder.text:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + holder.text
        else:
            previous.tail = (previous.tail or "") + holder.text
    last = None
    for child in list(holder):
        el.addprevious(child)
        last = child
    if tail:
        if last is not None:
            last.tail = (last.tail or "") + tail
        else:
            previous = el.getprevious()
            if previous is None:
                parent.text = (parent.text or "") + tail
            else:
                previous.tail = (previous.tail or "") + tail
    parent.remove(el)


def _copy(el, first: bool):
    attrib = {k: v for k, v in el.attrib.items() if first or k != "id"}
    return etree.Element(el.tag, attrib)


def _distribute(el) -> None:
    out, first = [], True
    for block, nodes in _runs(el):
        if not block:
            if any(not isinstance(n, str) or not BLANK.match(n) for n in nodes):
                wrapper = _copy(el, first)
                first = False
                fill(wrapper, nodes)
                out.append(wrapper)
            else:
                out += nodes
            continue
        node = nodes[0]
        if node.tag in TEXT_BLOCKS and not any(child.tag in FLOW for child in node) and _visible(node) \
                and not (el.tag == "a" and node.find(".//a") is not None):  # a link in a link is invalid
            inner = _copy(el, first)
            first = False
            inner.text, node.text = node.text, None
            for child in list(node):
                inner.append(child)
            node.append(inner)
        out.append(node)
    _replace(el, out)


def _visible(el) -> bool:
    return el.find(".//img") is not None or not BLANK.match("".join(el.itertext()))


def _split_paragraph(p) -> None:
    out, first = [], True
    for block, nodes in _runs(p):
        if block:
            out += nodes
        elif any(not isinstance(n, str) and n.tag != "br" or isinstance(n, str) and not BLANK.match(n) for n in nodes):
            part = _copy(p, first)
            first = False
            fill(part, nodes)
            out.append(part)
    _replace(p, out)

def fix_tables(body) -> None:
    """Table parts outside a table (literal '<tr>' in a post's text) are unwrapped; inside
    one, rows hold only cells and stray text goes into a cell."""
    for el in list(body.iter(*TABLE_PARTS)):
        if next(el.iterancestors("table"), None) is None:
            el.tail = " " + (el.tail or "")
            unwrap(el) if el.tag != "col" else el.getparent().remove(el)
    for table in body.iter("table"):
        for el in [table] + list(table.iter("thead", "tbody", "tfoot", "tr")):
            allowed = ("td", "th") if el.tag == "tr" else ("tr",) if el.tag != "table" else ("caption", "colgroup", "thead", "tbody", "tfoot", "tr")
            if el.text and not BLANK.match(el.text):
                cell = etree.Element("td" if el.tag == "tr" else "caption")
                cell.text = el.text
                el.insert(0, cell)
            el.text = None
            for child in list(el):
                if child.tail and not BLANK.match(child.tail) and el.tag == "tr":
                    extra = etree.Element("td")
                    extra.text = child.tail
                    child.addnext(extra)
                child.tail = None
                if child.tag not in allowed:
                    wrapper = etree.Element("td" if el.tag == "tr" else "tr")
                    child.addprevious(wrapper)
                    if el.tag != "tr":
                        wrapper = etree.SubElement(wrapper, "td")
                    wrapper.append(child)
        if table.find(".//td") is None and table.find(".//th") is None:
            table.tag = "div"


def fix_lists(body) -> None:
    """Lists hold only <li>: stray content (a list pasted inside a list) goes into an item;
    items outside any list are gathered into one."""
    _gather_items(body)
    for lst in list(body.iter("ul", "ol")):
        if lst.text and not BLANK.match(lst.text):
            li = etree.Element("li")
            li.text, lst.text = lst.text, None
            lst.insert(0, li)
        lst.text = None
        for child in list(lst):
            if child.tag != "li":
                previous = child.getprevious()
                if previous is not None and previous.tag == "li":
                    previous.append(child)
                else:
                    li = etree.Element("li")
                    child.addprevious(li)
                    li.append(child)
            elif child.tail and not BLANK.match(child.tail):
                extra = etree.Element("li")
                extra.text, child.tail = child.tail, None
                child.addnext(extra)
            else:
                child.tail = None
    for el in list(body.iter("dt", "dd")):
        if el.getparent() is not None and el.getparent().tag != "dl":
            el.tag = "div"  # a term or definition of no list is text like any other
    for dl in list(body.iter("dl")):
        _wrap_text(dl, "dd")
        for child in list(dl):
            if child.tag not in ("dt", "dd"):
                child.tag = "dd" if child.tag in ("p", "li") else child.tag
                if child.tag not in ("dt", "dd"):
                    dd = etree.Element("dd")
                    child.addprevious(dd)
                    dd.append(child)


def _gather_items(body) -> None:
    """Consecutive <li>s outside any list go into a <ul> of their own."""
    for li in list(body.iter("li")):
        parent = li.getparent()
        if parent is None or parent.tag in ("ul", "ol"):
            continue
        previous = li.getprevious()
        if previous is not None and previous.tag == "ul" and not (previous.tail or "").strip() \
                and previous.get("data-pub-gathered"):
            previous.append(li)
        else:
            lst = etree.Element("ul", {"data-pub-gathered": "1"})
            li.addprevious(lst)
            lst.tail, li.tail = li.tail, None
            lst.append(li)
    for lst in body.iter("ul"):
        lst.attrib.pop("data-pub-gathered", None)


def _wrap_text(el, tag: str) -> None:
    """Text directly inside `el` (its own or between children) goes into new `tag` elements."""
    if el.text and not BLANK.match(el.text):
        wrapper = etree.Element(tag)
        wrapper.text = el.text
        el.insert(0, wrapper)
    el.text = None
    for child in list(el):
        if child.tail and not BLANK.match(child.tail):
            wrapper = etree.Element(tag)
            wrapper.text = child.tail
            child.addnext(wrapper)
        child.tail = None


def fix_pre(body) -> None:
    for pre in list(body.iter("pre")):
        for br in list(pre.iter("br")):
            br.tail = "\n" + (br.tail or "")
            unwrap(br)
        for el in list(pre.iterdescendants()):
            if el.tag not in ("code", "strong", "em", "sub", "sup", "kbd", "samp", "var"):
                unwrap(el)


def fix_headings(body) -> None:
    for h in list(body.iter("h2", "h3", "h4", "h5", "h6")):
        if h.getparent() is None:
            continue  # a heading inside a heading, unwrapped already
        for el in reversed(list(h.iterdescendants(*FLOW))):
            el.tail = " " + (el.tail or "")
            unwrap(el)  # a heading holds a line of text (HTML: phrasing content only)
        for el in list(h.iter("br", "img")):
            el.tail = " " + (el.tail or "")
            if el.tag == "br":
                unwrap(el)
        for el in list(h.iter("strong")):
            unwrap(el)  # headings are bold already; nested <strong> only adds noise
        if h.text:
            h.text = h.text.lstrip(" \u00a0\t\n")
        if BLANK.match("".join(h.itertext())) and h.find(".//img") is None:
            h.getparent().remove(h) if not h.tail else setattr(h, "tag", "p")
