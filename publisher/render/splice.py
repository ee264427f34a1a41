"""Text in an lxml tree -> the same text with some pieces wrapped in classed spans.

The page's markup steps (typeset.py, autospace.py) each find pieces of a text node to set
apart (a mark to compress, a Latin run to space, words to keep together); this puts them in
place, for an element's own text or for the tail after it.
"""
from __future__ import annotations

from lxml import etree

XHTML = "http://www.w3.org/1999/xhtml"


def splice(owner, where: str, pieces: list) -> None:
    """Replace `owner.text` (where="text") or `owner.tail` (where="tail") by `pieces`: plain
    strings stay text, (class, text) pairs become `<span class="…">text</span>`."""
    setattr(owner, where, None)
    anchor = None if where == "text" else owner  # the element the next piece follows
    for piece in pieces:
        if isinstance(piece, str):
            if anchor is None:
                owner.text = (owner.text or "") + piece
            else:
                anchor.tail = (anchor.tail or "") + piece
            continue
        span = etree.Element(f"{{{XHTML}}}span", {"class": piece[0]})
        span.text = piece[1]
        if anchor is None:  # in an element's own text: before its first child
            owner.insert(0, span)
        else:
            anchor.addnext(span)
        anchor = span
