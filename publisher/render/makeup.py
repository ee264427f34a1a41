"""Page makeup: a laid-out part -> the figure changes that keep its pages full.

WeasyPrint has no page floats: a figure that does not fit in the rest of a page (figures are
never split) moves whole to the next page and leaves the bottom of this one empty, up to a
third or more of the block. A compositor either shrinks the figure a little so that it fits,
or lets the next paragraphs go first (TYPOGRAPHY.md, 图文混排). `plan` reads the laid-out
pages and says which, per figure; `apply` writes it into the markup for another layout.

Figures are known by `data-fig` (numbered by `number_figures` in render/typeset.py order).
"""
from __future__ import annotations

import re

EMPTY_SHARE = 1 / 3  # a page (not a chapter's last) may not end with more of its block empty
MIN_SCALE = 0.7  # a figure shrunk more than this would lose its detail: it moves instead


def plan(document) -> dict[str, tuple[str, float]]:
    """figure number -> ("shrink", max image height in px) or ("defer", 0) for the figures
    that left a page more than EMPTY_SHARE empty before them."""
    from weasyprint.formatting_structure import boxes

    changes: dict[str, tuple[str, float]] = {}
    pages = [p._page_box for p in document.pages]
    for before, page in zip(pages, pages[1:]):
        top, bottom = _block(before)
        lowest = _lowest(before, boxes)
        if lowest is None or bottom - lowest <= EMPTY_SHARE * (bottom - top):
            continue
        figure = _first_figure(page, boxes)
        if figure is None:
            continue
        number = figure.element.get("data-fig")
        room = bottom - lowest - figure.margin_top - 2
        image = next((b for b in figure.descendants() if isinstance(b, boxes.ReplacedBox)), None)
        if image is None or not number:
            continue
        excess = figure.margin_height() - figure.margin_top - room
        if excess <= 0:
            # It fits the room by measure: something else moved it on (a keep rule, the
            # footnotes); a max-height above its height would change nothing but cost a
            # layout (about half the makeup passes of a 100-episode series were these).
            continue
        height = image.height
        if height > 0 and height - excess >= MIN_SCALE * height:
            changes[number] = ("shrink", height - excess)
        else:
            changes[number] = ("defer", 0.0)
    return changes


def _block(page) -> tuple[float, float]:
    top = page.content_box_y()
    return top, top + page.height


def _flow(page, boxes):
    """The page's body boxes (not its margin boxes, not the footnote area)."""
    for child in page.children:
        if not isinstance(child, (boxes.MarginBox, boxes.FootnoteAreaBox)):
            yield from child.descendants()


def _lowest(page, boxes) -> float | None:
    bottoms = [b.position_y + b.margin_height() for b in _flow(page, boxes)
               if isinstance(b, (boxes.LineBox, boxes.ReplacedBox))]
    return max(bottoms) if bottoms else None


def _first_figure(page, boxes):
    top, _ = _block(page)
    leaves = [b for b in _flow(page, boxes) if isinstance(b, (boxes.LineBox, boxes.ReplacedBox))]
    if not leaves:
        return None
    first = min(leaves, key=lambda b: b.position_y)
    for box in _flow(page, boxes):
        if (getattr(box, "element_tag", "") == "figure" and box.element is not None
                and box.position_y <= first.position_y + 1 and abs(box.position_y - top) < 40):
            return box
    return None


def apply(markup: str, changes: dict[str, tuple[str, float]]) -> str:
    """The markup with figures shrunk (a max-height on their images) or moved after the
    paragraph that follows them."""
    for number, (kind, height) in changes.items():
        if kind == "shrink":
            markup = re.sub(rf'(<figure[^>]*data-fig="{number}"[^>]*>)(.*?)(</figure>)',
                            lambda m: m.group(1) + re.sub(r"<img ", f'<img style="max-height: {height:.1f}px; width: auto" ',
                                                          m.group(2)) + m.group(3), markup, count=1, flags=re.S)
        else:
            markup = re.sub(rf'(<figure[^>]*data-fig="{number}"[^>]*>.*?</figure>)\s*(<p[ >].*?</p>)',
                            lambda m: m.group(2) + m.group(1), markup, count=1, flags=re.S)
    return markup
