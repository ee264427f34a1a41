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
"""
from __future__ import annotations

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
    from weasyprint import DEFAULT_OPTIONS, HTML
    from weasyprint.css.counters import CounterStyle
    from weasyprint.document import Document, DocumentMetadata, Page
    from weasyprint.html import get_html_metadata
    from weasyprint.layout.background import layout_backgrounds
    from weasyprint.layout.page import set_page_type_computed_styles
    from weasyprint.html import parse_url

    from weasyprint.css.properties import TABLE_WRAPPER_BOX_PROPERTIES
    from weasyprint.draw.color import get_color
    from weasyprint.formatting_structure.boxes import TableBox

    screen = doc._html
    press = HTML(string=press_markup, base_url=screen.base_url, url_fetcher=fetcher)
    options = dict(DEFAULT_OPTIONS, stylesheets=stylesheets)
    context = Document._build_layout_context(press, font_config, CounterStyle(), color_profiles, options)
    screen_elements, press_elements = list(screen.etree_element.iter()), list(press.etree_element.iter())
    if [e.tag for e in screen_elements] != [e.tag for e in press_elements]:
        raise Mismatch("the press markup has other elements")
    twin = dict(zip(screen_elements, press_elements))
    painted: set[int] = set()
    borders: dict = {}  # a border colour on screen -> in the press file (for collapsed table borders)
    tables = []

    def paint(style, element, kept=BUILDER_SET) -> None:
        """`style` (a box's, of `element`: an element of the screen markup or a page type)
        takes the press values of the paint properties; the rest must be the same (`kept`:
        but for what WeasyPrint set on it itself)."""
        if id(style) in painted:
            return
        painted.add(id(style))
        if style.__class__.__name__ == "AnonymousStyle":
            # its parent is the style of the same element (a footnote's box has a copy of it)
            paint(style.parent_style, element)
            for key in [k for k in style if k in PAINT or k[:16] == "text_decoration_"]:
                del style[key]  # computed again from the painted parent when drawn
            return
        source = context.style_for(twin.get(element, element), style.pseudo_type)
        if source is None:
            raise Mismatch(f"no press style for {element!r}")
        sides = [k for k in style if k.startswith("border_") and k.endswith("_color")]
        before = [get_color(style, k) for k in sides]
        for key in list(style):
            if key in PAINT:
                style[key] = source[key]
            elif (key[:2] != "__" and key not in kept and key not in getattr(style, "set_by_makeup", ())
                  and style[key] != source[key]):  # a figure shrunk as laid out: the press layout shrinks it alike
                raise Mismatch(f"{key} differs")
        for key, colour in zip(sides, before):
            borders.setdefault(colour, set()).add(get_color(style, key))

    def walk(box, page_type) -> None:
        is_table = isinstance(box, TableBox)
        # a table's margins and position went to its wrapper box (WeasyPrint's wrap_table)
        paint(box.style, box.element if box.element is not None else page_type,
              BUILDER_SET | TABLE_WRAPPER_BOX_PROPERTIES if is_table else BUILDER_SET)
        if is_table and getattr(box, "collapsed_border_grid", None) is not None:
            tables.append(box.collapsed_border_grid)
        if getattr(box, "replacement", None) is not None and box.element is not None:
            url = parse_url(twin[box.element].get("src"), press.base_url)
            image = context.get_image_from_uri(url=url, orientation=box.style["image_orientation"])
            if image is None or image.get_intrinsic_size(1, 1) != box.replacement.get_intrinsic_size(1, 1):
                raise Mismatch(f"the press image {url} is another size")
            box.replacement = image
        for child in getattr(box, "all_children", tuple)():
            walk(child, page_type)

    for page in doc.pages:
        page_box = page._page_box
        set_page_type_computed_styles(page_box.page_type, press, context.style_for)
        walk(page_box, page_box.page_type)
    _paint_collapsed_borders(tables, borders)
    for page in doc.pages:
        layout_backgrounds(page._page_box, context.get_image_from_uri)
    return Document([Page(page._page_box) for page in doc.pages], DocumentMetadata(**get_html_metadata(press)),
                    fetcher, font_config, color_profiles, None)


def _paint_collapsed_borders(grids: list, borders: dict) -> None:
    """Collapsed table borders were resolved to colours when the table was built: each takes
    the press colour of the border it came from (one grid may be shared by a table's pieces)."""
    done = set()
    for grid in grids:
        if id(grid) in done:
            continue
        done.add(id(grid))
        for rows in grid:
            for row in rows:
                for i, (score, (style, width, colour)) in enumerate(row):
                    if style in ("none", "hidden") or width == 0:
                        continue
                    inks = borders.get(colour, set())
                    if len(inks) != 1:
                        raise Mismatch(f"a collapsed table border in {colour} has {len(inks)} press colours")
                    row[i] = (score, (style, width, next(iter(inks))))
