"""A laid-out screen part -> the same pages painted as the press file paints them, without
laying them out again (an extension of WeasyPrint 70, pinned like justify.py).

The press file's pages are the screen's: same trim, text and image sizes (pdf._screen_makeup
says how that was measured). What differs is paint: colours (the press stylesheets are the
screen's with every colour in device-cmyk(), and press.css after them), the photos (converted to
the output profile's CMYK: the same pixels across), the page's bleed, and no tags. So the press
markup is cascaded with the press stylesheets (no layout), and each laid-out box takes the press
values of the paint properties from the press style of its element, pseudo-element or page
context; its image, the press file's image of its element.

Any difference that is not paint (a length, a font, an image of another size, an element the
screen markup does not have) raises `Mismatch`: the caller then lays the press part out itself.
Imported only where parts are laid out (it imports WeasyPrint).
"""
from __future__ import annotations

from weasyprint import DEFAULT_OPTIONS, HTML
from weasyprint.css import AnonymousStyle
from weasyprint.css.counters import CounterStyle
from weasyprint.css.properties import TABLE_WRAPPER_BOX_PROPERTIES
from weasyprint.document import Document, DocumentMetadata, Page
from weasyprint.draw.color import get_color
from weasyprint.formatting_structure.boxes import TableBox
from weasyprint.html import get_html_metadata, parse_url
from weasyprint.layout.background import layout_backgrounds
from weasyprint.layout.page import set_page_type_computed_styles

from .justify import check_engine

# computed properties that decide only how a box is painted, never where anything goes
PAINT = frozenset({
    "color", "background_color", "background_image",
    "border_top_color", "border_right_color", "border_bottom_color", "border_left_color",
    "outline_color", "text_decoration_color", "column_rule_color", "text_emphasis_color",
    "caret_color", "accent_color", "fill", "stroke",
    # the page's: its bleed lies outside the page box, its marks in the bleed
    "bleed_top", "bleed_right", "bleed_bottom", "bleed_left", "marks",
})
# what WeasyPrint sets on a style as it builds and lays out boxes (a footnote's float: none, a
# running element's position: relative, a page's counter-increment: auto as page + 1, list
# items' counters): the cascade's value differs there, alike for both files
BUILDER_SET = frozenset({"float", "position", "counter_increment", "counter_reset", "counter_set"})


class Mismatch(Exception):
    """The press pages would not be the screen's: lay the press part out instead."""


def repaint(doc, press_markup: str, stylesheets: list, fetcher, font_config, color_profiles):
    """A Document of `doc`'s pages as `press_markup` with `stylesheets` paints them. `doc` is
    repainted in place: write the screen file first."""
    check_engine(__name__)

    screen = doc._html
    press = HTML(string=press_markup, base_url=screen.base_url, url_fetcher=fetcher)
    context = Document._build_layout_context(press, font_config, CounterStyle(), color_profiles,
                                             dict(DEFAULT_OPTIONS, stylesheets=stylesheets))
    screen_elements, press_elements = list(screen.etree_element.iter()), list(press.etree_element.iter())
    if [e.tag for e in screen_elements] != [e.tag for e in press_elements]:
        raise Mismatch("the press markup has other elements")
    painter = _Painter(context, dict(zip(screen_elements, press_elements)), press.base_url)
    for page in doc.pages:
        set_page_type_computed_styles(page._page_box.page_type, press, context.style_for)
        painter.walk(page._page_box, page._page_box.page_type)
    painter.paint_collapsed_borders()
    for page in doc.pages:  # backgrounds were resolved as the pages were laid out
        layout_backgrounds(page._page_box, context.get_image_from_uri)
    return Document([Page(page._page_box) for page in doc.pages], DocumentMetadata(**get_html_metadata(press)),
                    fetcher, font_config, color_profiles, None)


class _Painter:
    """Walks laid-out boxes giving each the press file's paint; `twin`: screen element -> the
    same element of the press markup."""

    def __init__(self, context, twin: dict, base_url: str):
        self.context, self.twin, self.base_url = context, twin, base_url
        self.painted: set[int] = set()
        self.borders: dict = {}  # a border colour on screen -> its colours in the press file
        self.grids: list = []  # collapsed table borders, resolved to colours when tables were built

    def walk(self, box, page_type) -> None:
        table = isinstance(box, TableBox)
        # a table's margins and position went to its wrapper box (WeasyPrint's wrap_table)
        self.paint(box.style, box.element if box.element is not None else page_type,
                   BUILDER_SET | TABLE_WRAPPER_BOX_PROPERTIES if table else BUILDER_SET)
        if table and getattr(box, "collapsed_border_grid", None) is not None:
            self.grids.append(box.collapsed_border_grid)
        if getattr(box, "replacement", None) is not None and box.element is not None:
            url = parse_url(self.twin[box.element].get("src"), self.base_url)
            image = self.context.get_image_from_uri(url=url, orientation=box.style["image_orientation"])
            if image is None or image.get_intrinsic_size(1, 1) != box.replacement.get_intrinsic_size(1, 1):
                raise Mismatch(f"the press image {url} is another size")
            box.replacement = image
        for child in getattr(box, "all_children", tuple)():
            self.walk(child, page_type)

    def paint(self, style, owner, kept=BUILDER_SET) -> None:
        """`style` (a box's, of `owner`: an element of the screen markup or a page type) takes
        the press values of the paint properties; the rest must be the same, but for what
        WeasyPrint (`kept`) or makeup (a figure shrunk as laid out, alike in a press layout)
        set on it themselves."""
        if id(style) in self.painted:
            return
        self.painted.add(id(style))
        if isinstance(style, AnonymousStyle):
            self.paint(style.parent_style, owner)  # the style of the same element (a footnote's box has a copy)
            for key in [k for k in style if k in PAINT or k[:16] == "text_decoration_"]:
                del style[key]  # computed again from the painted parent when drawn
            return
        source = self.context.style_for(self.twin.get(owner, owner), style.pseudo_type)
        if source is None:
            raise Mismatch(f"no press style for {owner!r}")
        kept = kept | getattr(style, "set_by_makeup", frozenset())
        sides = [k for k in style if k.startswith("border_") and k.endswith("_color")]
        before = [get_color(style, k) for k in sides]
        for key in list(style):
            if key in PAINT:
                style[key] = source[key]
            elif key[:2] != "__" and key not in kept and style[key] != source[key]:
                raise Mismatch(f"{key} differs")
        for key, colour in zip(sides, before):
            self.borders.setdefault(colour, set()).add(get_color(style, key))

    def paint_collapsed_borders(self) -> None:
        """Each collapsed table border takes the press colour of the border it came from (one
        grid may be shared by a table's pieces on several pages)."""
        done = set()
        for grid in self.grids:
            if id(grid) in done:
                continue
            done.add(id(grid))
            for rows in grid:
                for row in rows:
                    for i, (score, (style, width, colour)) in enumerate(row):
                        if style in ("none", "hidden") or width == 0:
                            continue
                        inks = self.borders.get(colour, set())
                        if len(inks) != 1:
                            raise Mismatch(f"a collapsed table border in {colour} has {len(inks)} press colours")
                        row[i] = (score, (style, width, next(iter(inks))))
