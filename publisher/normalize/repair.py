"""Content-model repairs on a sanitized tree, before it is rebuilt as blocks.

Posts break XHTML's content models in a handful of recurring ways: table parts outside tables
(a post quoting "<tr>"), lists holding other lists directly, markup inside <pre>, headings
holding line breaks and <strong>. Each function here mends one of them in place.
"""
from __future__ import annotations

from lxml import etree

from .clean import BLANK, unwrap

TABLE_PARTS = ("caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "td", "th")

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
    """Lists hold only <li>: stray content (a list pasted inside a list) goes into an item."""
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
    for dl in list(body.iter("dl")):
        for child in list(dl):
            if child.tag not in ("dt", "dd"):
                child.tag = "dd" if child.tag in ("p", "li") else child.tag
                if child.tag not in ("dt", "dd"):
                    dd = etree.Element("dd")
                    child.addprevious(dd)
                    dd.append(child)


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
