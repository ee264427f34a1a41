"""Page makeup: a laid-out part -> the figure changes that keep its pages full.

WeasyPrint has no page floats: a figure that does not fit in the rest of a page (figures are
never split) moves whole to the next page and leaves the bottom of this one empty, up to a
third or more of the block. A compositor either shrinks the figure a little so that it fits,
or lets the next paragraphs go first (TYPOGRAPHY.md, 图文混排). `plan` reads the laid-out
pages and says which, per figure; `apply` writes it into the markup for another layout.

Figures are known by `data-fig` (numbered by `number_figures` in render/typeset.py order).

Shrinking is also done while the part is laid out (`install`: WeasyPrint 70's block layout
wrapped, pinned to that version): a figure that does not fit the rest of a page which it would
leave more than EMPTY_SHARE empty is laid out again, at once, with its image just small enough,
when that keeps MIN_SCALE of its height. That is the common case, and it costs no second layout
of the part; moving a figure after the next paragraph still takes one (`plan`, `apply`).
"""
from __future__ import annotations

import math
import re

from .justify import check_engine

EMPTY_SHARE = 1 / 3  # a page (not a chapter's last) may not end with more of its block empty
MIN_SCALE = 0.7  # a figure shrunk more than this would lose its detail: it moves instead
SLACK = 2  # px a shrunk figure leaves between itself and the foot of the block
_INSTALLED: list = []


def install() -> None:
    """Shrink figures as they are laid out (once per process)."""
    if _INSTALLED:
        return
    check_engine(__name__)  # pinned with the justification: the same WeasyPrint 70
    from weasyprint.layout import block

    original = block.block_level_layout

    def block_level_layout(context, box, bottom_space, skip_stack, containing_block, page_is_empty=True,
                           *args, **kwargs):
        if kwargs or len(args) < 2:  # not the block flow's call (_in_flow_layout passes all by position)
            return original(context, box, bottom_space, skip_stack, containing_block, page_is_empty, *args, **kwargs)

        def lay_out(space=bottom_space, empty=page_is_empty, extra=args):
            box.position_x, box.position_y = position
            return original(context, box, space, skip_stack, containing_block, empty, *extra)

        position = box.position_x, box.position_y
        result = lay_out()
        if (page_is_empty or skip_stack is not None or box.element_tag != "figure"
                or box.element is None or not box.element.get("data-fig") or _fits(context, result[0], bottom_space)):
            return result
        shrunk = _shrink(context, box, bottom_space, lambda: lay_out(float("-inf"), False, ([], [], *args[2:])))
        box.position_x, box.position_y = position  # the trial moved the box; `result` stands as it was
        if shrunk is None:
            return result
        if result[0] is not None:
            block.remove_placeholders(context, [result[0]], *args[:2])
        retry = lay_out()
        if _fits(context, retry[0], bottom_space):
            return retry
        if retry[0] is not None:  # shrunk and still not fitting: as it was (plan() decides)
            block.remove_placeholders(context, [retry[0]], *args[:2])
        image, style = shrunk
        image.style = style
        return lay_out()

    block.block_level_layout = block_level_layout
    _INSTALLED.append(True)


def _fits(context, laid, bottom_space) -> bool:
    return laid is not None and not context.overflows_page(bottom_space, laid.border_box_y() + laid.border_height())


SHRUNK = frozenset({"max_height", "width"})  # what shrinking sets on an image's style


def _shrink(context, figure, bottom_space, trial):
    """Give the figure's image a max-height that makes the figure fit the rest of the page,
    when the page would otherwise be left more than EMPTY_SHARE empty and the image keeps
    MIN_SCALE of its height; -> (image box, its former style), or None when not shrunk."""
    from weasyprint.css.properties import Dimension
    from weasyprint.formatting_structure import boxes

    block_height = context.style_for.initial_page_sizes["area"][1]
    room = context.page_bottom - bottom_space - figure.position_y
    if room <= EMPTY_SHARE * block_height:
        return None
    laid = trial()[0]  # the whole figure, on a page without a foot
    image = next((b for b in laid.descendants() if isinstance(b, boxes.ReplacedBox)), None) if laid else None
    target = next((b for b in figure.descendants() if isinstance(b, boxes.ReplacedBox)), None)
    if image is None or target is None or image.height <= 0:
        return None
    # the figure's border box must end above the foot (its bottom margin may fall past it)
    height = image.height - (laid.border_box_y() + laid.border_height() - (context.page_bottom - bottom_space) + SLACK)
    if height < MIN_SCALE * image.height:
        return None
    # to the tenth of a pixel below, as `apply` writes it into markup: a part laid out from that
    # markup (the press file's, laid out alone) gets the very height this layout gives it
    height = math.floor(height * 10) / 10
    former = target.style
    target.style = former.copy()
    target.style["max_height"] = Dimension(height, "px")
    target.style["width"] = "auto"
    target.style.set_by_makeup = SHRUNK  # not the cascade's (repaint.py compares the rest)
    return target, former


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
