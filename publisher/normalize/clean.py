"""Raw post HTML -> a sanitized lxml tree: site chrome out, only allow-listed markup left.

Input is whatever a feed produced (broken nesting, stray tags, layout tables, embeds, inline
styles, event handlers). Output is a <body> element holding allow-listed elements and
attributes only, images carrying the URL they really show, embeds turned into links, and
`data-pub-centred` marking paragraphs the source centred (captions are found from it later).
"""
from __future__ import annotations

import re

import lxml.html
from lxml import etree

from ..errors import LimitError
from ..images.urls import image_url

# Dropped with everything inside them: code, chrome, forms, and anything that fetches.
DROP = {"script", "style", "noscript", "template", "svg", "math", "button", "form", "input", "select",
        "textarea", "option", "optgroup", "label", "object", "embed", "applet", "frame", "frameset",
        "meta", "link", "base", "head", "title", "canvas", "map", "area", "dialog", "param", "track",
        "datalist", "output", "progress", "meter", "portal", "slot", "xml"}
EMBEDS = {"iframe", "video", "audio"}
# Void in HTML5 but not to libxml2, which nests what follows inside them: drop the tag only.
VOID = {"embed", "param", "track", "source", "area", "base", "link", "meta", "input", "keygen", "wbr", "col"}
RENAME = {"b": "strong", "i": "em", "h1": "h2", "tt": "code", "strike": "s", "cite": "em", "dfn": "em"}
BLOCKS = {"p", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "li", "dl", "dt", "dd", "pre",
          "figure", "figcaption", "table", "caption", "thead", "tbody", "tfoot", "tr", "td", "th", "hr",
          "colgroup", "col"}
INLINE = {"a", "strong", "em", "code", "kbd", "samp", "var", "sub", "sup", "u", "s", "del", "ins",
          "mark", "small", "abbr", "q", "ruby", "rt", "rp", "br", "img"}
ALLOWED = BLOCKS | INLINE
# Any other element is unwrapped: its text stays, the tag goes (div, span, font, center, section …).
ATTRS = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"},
         "th": {"colspan", "rowspan", "scope"}, "ol": {"start", "reversed"}, "li": {"value"},
         "abbr": {"title"}, "col": {"span"}, "colgroup": {"span"}}
COMMON_ATTRS = {"id", "lang", "dir"}
SAFE_SCHEMES = ("http:", "https:", "mailto:")
CENTRED = re.compile(r"text-align\s*:\s*center", re.I)
HIDDEN = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
MAX_DEPTH = 200
BLANK = re.compile(r"^[\s\u00a0\u200b\u200c\u200d\u2060\ufeff\u3000]*$")  # whitespace, NBSP, zero-width
# Structural tags written as text right after an opening bracket, as in "有序列表（<ol><li>）":
# an author talking about markup, not markup. Left alone, such a "<ul>" swallows the rest
# of the post into a list item (seen in woshipm posts).
LITERAL_TAGS = re.compile(r"(?<=[（(【「“‘\"'])((?:<(?:[0-9][a-z0-9]*|ul|ol|li|dl|dt|dd|tr|td|th|table|thead|tbody|tfoot"
                          r"|div|p|h[1-6]|html|body|head)>)+)", re.I)


def parse(body: str) -> etree._Element:
    """Parse a post's body leniently; raise LimitError past the nesting limit."""
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True,
                                  default_doctype=False, recover=True, huge_tree=False)
    text = LITERAL_TAGS.sub(lambda m: m.group(1).replace("<", "&lt;").replace(">", "&gt;"), INVALID_XML.sub("", body))
    doc = lxml.html.document_fromstring(f"<html><body>{text}</body></html>", parser=parser)
    if any("Excessive depth" in e.message for e in parser.error_log):
        raise LimitError(f"markup is nested more than {MAX_DEPTH} levels deep")
    body_el = doc.find("body")
    if body_el is None:
        body_el = etree.SubElement(doc, "body")
    depth = max((sum(1 for _ in el.iterancestors()) for el in body_el.iter()), default=0)
    if depth > MAX_DEPTH:
        raise LimitError(f"markup is nested more than {MAX_DEPTH} levels deep ({depth})")
    return body_el


def clean(body: etree._Element, unwrap: tuple[str, ...]) -> etree._Element:
    """Sanitize `body` in place and return it."""
    _drop_chrome(body)
    _embeds_to_links(body)
    _resolve_images(body, unwrap)
    _attribute_captions(body)
    _mark_centred(body)
    _unwrap_layout_tables(body)
    for el in list(body.iter()):
        if el is body or el.getparent() is None:
            continue
        _clean_element(el)
    return body


def _drop(el) -> None:
    """Remove an element and its content, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    previous = el.getprevious()
    parent.remove(el)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def unwrap(el) -> None:
    """Replace an element by its content (text, children and tail stay in place)."""
    parent = el.getparent()
    if parent is None:
        return
    index = parent.index(el)
    previous = el.getprevious()
    if el.text:
        if previous is None:
            parent.text = (parent.text or "") + el.text
        else:
            previous.tail = (previous.tail or "") + el.text
    children = list(el)
    tail, el.tail = el.tail, None
    for offset, child in enumerate(children):
        parent.insert(index + 1 + offset, child)
    if tail:
        last = children[-1] if children else previous
        if last is None:
            parent.text = (parent.text or "") + tail
        else:
            last.tail = (last.tail or "") + tail
    parent.remove(el)


def _drop_chrome(body) -> None:
    for el in list(body.iter()):
        if not isinstance(el.tag, str):
            _drop(el)
            continue
        cls = el.get("class") or ""
        if el.tag in VOID and el.tag != "col":
            el.attrib.clear()
            unwrap(el)
        elif "support-author" in cls:
            _drop_tip_jar(el)
        elif (el.tag in DROP or "copy-code-btn" in cls
                or HIDDEN.search(el.get("style") or "") or el.get("hidden") is not None
                or el.get("aria-hidden") == "true" and el.tag != "img"):
            _drop(el)



TIP_JAR_PARTS = ("pay-num", "donation-list")  # "1人打赏" and the tippers' avatars


def _drop_tip_jar(el) -> None:
    """The tip jar woshipm's theme appends to a post (`div.support-author`: a `div.support-title`
    line, a pay button, the count of tips and the tippers' avatars) goes; anything else in it is
    the author's and stays, after it. (It sits before the post's last `</div>`, so text added
    "at the end" of a post often lands in it.)"""
    kept = [k for c in el if c.tag != "button" and not any(p in (c.get("class") or "") for p in TIP_JAR_PARTS)
            for k in (list(c) if "support-title" in (c.get("class") or "") else [c])]
    for child in reversed(kept):
        el.addnext(child)
    _drop(el)

def _embeds_to_links(body) -> None:
    """An iframe/video/audio becomes a visible link to what it embedded (never loaded)."""
    for el in list(body.iter(*EMBEDS)):
        src = el.get("src") or next((s.get("src") for s in el.iter("source") if s.get("src")), "")
        src = src.strip()
        if src.startswith("//"):
            src = "https:" + src
        if m := re.match(r"https?://(?:www\.)?youtube(?:-nocookie)?\.com/embed/([\w-]+)", src):
            src = f"https://www.youtube.com/watch?v={m.group(1)}"
        if src.lower().startswith(("http:", "https:")):
            p = etree.Element("p", {"data-pub-embed": "1"})
            a = etree.SubElement(p, "a", href=src)
            video = el.tag == "video" or re.search(r"youtube|youtu\.be|vimeo|bilibili|v\.qq\.com|youku", src)
            a.text = ("视频" if video else "音频" if el.tag == "audio" else "嵌入内容") + "：" + src
            p.tail = el.tail
            el.getparent().replace(el, p)
        else:
            _drop(el)


def _resolve_images(body, unwrap_prefixes) -> None:
    for img in list(body.iter("img")):
        url = image_url(dict(img.attrib), unwrap_prefixes)
        if not url:
            _drop(img)
            continue
        alt = (img.get("alt") or "").strip()
        size = {k: img.get(k) for k in ("width", "height") if re.fullmatch(r"[1-9]\d{0,4}", img.get(k) or "")}
        img.attrib.clear()
        img.set("src", url)
        img.set("alt", alt)
        for k, v in size.items():  # the size the author meant; backends cap it to the page
            img.set(k, v)


def _attribute_captions(body) -> None:
    """Some feeds give a figure's caption as an attribute: make it a real <figcaption>."""
    for figure in body.iter("figure"):
        text = (figure.get("figcaption") or figure.get("data-caption") or "").strip()
        if text and figure.find("figcaption") is None:
            etree.SubElement(figure, "figcaption").text = text


def _mark_centred(body) -> None:
    for el in body.iter("p", "div", "center", "font", "span"):
        if el.tag == "center" or CENTRED.search(el.get("style") or "") or (el.get("align") or "").lower() == "center":
            for p in ([el] if el.tag == "p" else el.iter("p")):
                p.set("data-pub-centred", "1")
            if el.tag != "p" and not any(True for _ in el.iter("p")):
                el.set("data-pub-centred", "1")


def _unwrap_layout_tables(body) -> None:
    """A table that lays out a page (block content, a single cell, a post inside a cell) is
    unwrapped to its content; a table of data is kept."""
    for table in reversed(list(body.iter("table"))):
        cells = list(table.iter("td", "th"))
        blocky = any(c.find(".//" + tag) is not None for c in cells
                     for tag in ("p", "div", "img", "h2", "h3", "blockquote", "ul", "ol", "br", "table", "pre"))
        if len(cells) <= 1 or blocky:
            for cell in cells:
                cell.tag = "div"
            for el in list(table.iter("tbody", "thead", "tfoot", "tr", "caption", "colgroup", "col")):
                unwrap(el) if el.tag not in ("colgroup", "col") else _drop(el)
            table.tag = "div"


def _clean_element(el) -> None:
    tag = RENAME.get(el.tag, el.tag)
    if tag != el.tag:
        el.tag = tag
    if tag not in ALLOWED:
        centred = el.get("data-pub-centred")
        if tag in ("div", "section", "article", "main", "header", "footer", "aside", "center", "nav") \
                and el.getparent() is not None:
            # keep the block boundary: a block container becomes a div marker handled by blockify
            el.tag = "div"
            el.attrib.clear()
            if centred:
                el.set("data-pub-centred", "1")
            return
        unwrap(el)
        return
    allowed = ATTRS.get(tag, set()) | COMMON_ATTRS
    for name in list(el.attrib):
        if name not in allowed and name not in ("data-pub-centred", "data-pub-embed"):
            del el.attrib[name]
    if tag == "a":
        href = (el.get("href") or "").strip()
        if href.startswith("//"):
            href = "https:" + href
        if href.startswith("#") and len(href) > 1:
            el.set("href", href)
        elif href.lower().startswith(SAFE_SCHEMES) and not re.search(r"\s", href.split("?")[0]):
            el.set("href", href)
        else:
            el.attrib.pop("href", None)
            unwrap(el)  # a link that goes nowhere safe is just text
    if tag in ("td", "th"):
        for name in ("colspan", "rowspan"):
            if name in el.attrib and not (el.get(name).isdigit() and 0 < int(el.get(name)) < 100):
                del el.attrib[name]
    for name in ("start", "value"):
        if name in el.attrib and not re.fullmatch(r"-?\d{1,6}", el.get(name)):
            del el.attrib[name]
    if "reversed" in el.attrib:
        el.set("reversed", "reversed")
    if "id" in el.attrib and tag not in ("h2", "h3", "h4", "h5", "h6", "a", "p", "li", "figure"):
        del el.attrib["id"]
    if "lang" in el.attrib and not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", el.get("lang")):
        del el.attrib["lang"]
    if "dir" in el.attrib and el.get("dir") not in ("ltr", "rtl", "auto"):
        del el.attrib["dir"]
