"""Chinese justification for WeasyPrint 70: a contained extension.

In: WeasyPrint's line boxes as it lays out and draws a document. Out: every justified line
flush at both edges by spacing out CJK characters (W3C clreq §3.8, inter-character
justification), instead of WeasyPrint's word-spaces-only justification, which leaves lines of
汉字 ragged and dumps a mixed line's slack into its few word spaces; and the Chinese–Latin
spacing (render/autospace.py) set without an inline box per Latin run and never left hanging
at a line's start or end.

Switched on by the stylesheet, so a theme decides:
  --cjk-justify: inter-character;     justified lines spread over CJK characters
  --cjk-latin-space: 0.25em;          the width of MARK (U+2063) where 汉字 meet Latin
  .as-l / .as-r { margin-… }          the same spacing beside inline code, dropped at line edges

How (WeasyPrint 70.0, Pango 1.50): WeasyPrint applies extra space as Pango letter-spacing
attributes (`text/line_break.py`, `Layout.set_text`). Pango gives a character with spacing L
half of it before and half after, and drops the outer halves at the ends of a layout line.
So each CJK character of a justified line gets the same L (only positive spacing: Pango's
line breaking and WeasyPrint's measuring then agree); a gap between two of them grows by L,
one beside a Latin letter by L/2, and Latin letters get none, so words are never
letter-spaced. Marks of a compressed pair (”， 。”) are left as they are. Word spaces take at
most their share, up to MAX_WORD_SPACE_EM glyph to glyph. `Layout.set_text` is wrapped to add
the attributes when a line is drawn, as WeasyPrint does for word spacing;
`layout.inline.justify_line` is replaced and `layout.inline.text_align` wrapped.

MARK, where a Latin run touches 汉字, is default-ignorable: Pango shapes it as an empty glyph,
which WeasyPrint draws as a move and writes no text for. `set_text` gives it the theme's width
as letter-spacing (twice that at a layout's ends, where Pango drops the outer half), and
`text_align` takes a mark's width away where it opens or ends a line. An inline element per
run (margins) did the same at about a sixth of a book's layout time.

Pinned to WeasyPrint 70.0 (`install` refuses another version): the names wrapped here are
internals. Written so it could be offered upstream as `text-justify: inter-character`.
"""
from __future__ import annotations

import importlib.metadata
import re

PINNED = "70.0"
MAX_WORD_SPACE_EM = 0.45  # a word space in a mixed line never grows past this (glyph to glyph)
MAX_SPACING_EM = 0.2  # nor a character's spacing: past it a line is left short (a long word follows)
_INSTALLED: list = []
MARK = "\u2063"  # INVISIBLE SEPARATOR: 汉字 meet a Latin run here (render/autospace.py puts it)

# What may be spaced: Han, kana, hangul, CJK symbols and punctuation, full-width forms, and
# the quotation marks Chinese text sets from the CJK font (clreq §3.1.4).
_CJK = re.compile(r"[\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
                  r"\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u2018\u2019\u201c\u201d\u2014\u2026\u00b7]")
# Full-width marks: two side by side form a compressed pair (clreq §3.1.6), which stays 1.5 em.
PUNCT = set("，。、；：？！“”‘’「」『』（）《》〈〉【】〔〕…—·")


def is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def spaced_characters(text: str, before: str = "", after: str = "") -> list[int]:
    """Indices of the characters inter-character justification spaces out: CJK characters,
    but not a mark beside another mark nor a character beside a word space (`before`/`after`:
    the line's neighbouring characters outside `text`)."""
    out = []
    for i, ch in enumerate(text):
        if not is_cjk(ch):
            continue
        left = text[i - 1] if i else before
        right = text[i + 1] if i + 1 < len(text) else after
        if ch in PUNCT and (left in PUNCT or right in PUNCT):
            continue
        if left in " \u00a0" and left or right in " \u00a0" and right:
            continue  # beside a word space, which stretches on its own
        out.append(i)
    return out


def _units(text: str, spaced: list[int]) -> float:
    """How many spacings a box shows: Pango drops the outer half at each end of the box."""
    if not spaced:
        return 0.0
    return len(spaced) - 0.5 * (spaced[0] == 0) - 0.5 * (spaced[-1] == len(text) - 1)


def _style_length(style, name: str) -> float:
    """A custom property's length in px (em of the style's font size, or px), else 0."""
    try:
        tokens = style[name]
    except (KeyError, TypeError):
        return 0.0
    for token in tokens or ():
        if getattr(token, "type", "") == "dimension":
            return token.value * (style["font_size"] if token.unit == "em" else 1.0)
    return 0.0


def _style_ident(style, name: str) -> str:
    try:
        tokens = style[name]
    except (KeyError, TypeError):
        return ""
    return next((t.value for t in tokens or () if getattr(t, "type", "") == "ident"), "")


def check_engine(module: str) -> None:
    """Refuse a WeasyPrint other than the one the extension in `module` is written for: it
    wraps internals, which change between versions."""
    version = importlib.metadata.version("weasyprint")
    if version != PINNED:
        raise RuntimeError(f"{module} is written for WeasyPrint {PINNED}, not {version}")


def install() -> None:
    """Wrap WeasyPrint's text layout, alignment and justification (once per process)."""
    if _INSTALLED:
        return
    check_engine(__name__)
    from weasyprint.draw import text as draw_text
    from weasyprint.layout import inline
    from weasyprint.text import line_break

    original_set_text = line_break.Layout.set_text
    original_draw_first_line = draw_text.draw_first_line
    original_text_align = inline.text_align

    def set_text(layout, text, justify=False):
        original_set_text(layout, text, justify)
        spacing = dict(layout.char_spacing) if justify and getattr(layout, "char_spacing", None) else {}
        if MARK in layout.text:
            _mark_spacing(layout, spacing)
        if spacing:
            _add_spacing(layout, spacing)

    def text_align(context, line, available_width, last):
        drop_edge_spacing(line)
        trim_edge_marks(line)
        return original_text_align(context, line, available_width, last)

    def draw_first_line(stream, textbox, *args):
        if MARK in getattr(textbox.pango_layout, "text", ""):
            _mend_empty_advances(textbox.pango_layout)
        return original_draw_first_line(stream, textbox, *args)

    line_break.Layout.set_text = set_text
    inline.text_align = text_align
    draw_text.draw_first_line = draw_first_line
    inline.justify_line = justify_line
    _INSTALLED.append(True)


def _mark_spacing(layout, spacing: dict) -> None:
    """Each MARK's width into `spacing` ({character index: px}): the theme's
    `--cjk-latin-space`, doubled at the layout's ends (Pango shows half of a spacing there),
    none at an end `trim_edge_marks` took it from."""
    width = _style_length(layout.style, "__cjk_latin_space")
    text = layout.text
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch != MARK or (i == 0 and getattr(layout, "trim_start", False)) or (
                i == last and getattr(layout, "trim_end", False)):
            continue
        spacing[i] = spacing.get(i, 0.0) + width * (2 if i in (0, last) else 1)


def _mend_empty_advances(layout) -> None:
    """WeasyPrint 70 moves past an empty glyph (a MARK) by its Pango width / font size
    thousandths of an em, 1.024 times too far (the Pango-units-to-px factor is left out; an
    empty glyph is otherwise zero-wide, so it never showed). Scale such advances of the line
    about to be drawn so the drawn line keeps the width laid out."""
    from weasyprint.text.ffi import FROM_UNITS, ffi, pango

    # what draw_first_line sets first (Pango lays the text out again only when it changes)
    pango.pango_layout_set_single_paragraph_mode(layout.layout, True)
    line, _ = layout.get_first_line()
    run = line.runs
    while run != ffi.NULL:
        glyphs = run.data.glyphs
        for i in range(glyphs.num_glyphs):
            info = glyphs.glyphs[i]
            if info.glyph == pango.PANGO_GLYPH_EMPTY and info.geometry.width:
                info.geometry.width = round(info.geometry.width * FROM_UNITS * 1000)
        run = run.next


def _add_spacing(layout, spacing: dict) -> None:
    """Letter-spacing attributes for `spacing` ({character index: px}), added to the ones
    WeasyPrint set for word spaces."""
    from weasyprint.text.ffi import TO_UNITS, ffi, pango

    text = layout.text
    attrs = pango.pango_layout_get_attributes(layout.layout)
    if attrs == ffi.NULL:
        attrs = ffi.gc(pango.pango_attr_list_new(), pango.pango_attr_list_unref)
    start, done = 0, 0  # byte offset of text[done], walked forward once
    for index in sorted(spacing):
        if index >= len(text):
            break
        start += len(text[done:index].encode("utf-8"))
        done = index
        attr = pango.pango_attr_letter_spacing_new(int(spacing[index] * TO_UNITS))
        attr.start_index, attr.end_index = start, start + len(text[index].encode("utf-8"))
        pango.pango_attr_list_change(attrs, attr)
    pango.pango_layout_set_attributes(layout.layout, attrs)
    layout._keep_attrs = attrs  # keep the list alive as long as the layout


# ---------- line edges ----------

def drop_edge_spacing(line) -> None:
    """Drop the Chinese–Latin margin of an `.as-l` box that opens the line and of an `.as-r`
    box that ends it: a line's text starts and ends at the block's edges."""
    from weasyprint.formatting_structure import boxes

    for first in (True, False):
        path, wanted = _edge_path(line, first, boxes), "as-l" if first else "as-r"
        depth = next((i for i, box in enumerate(path[1:], 1)
                      if isinstance(box, boxes.InlineBox) and _has_class(box, wanted)), None)
        if depth is None:
            continue
        chain = path[:depth + 1]
        box = chain[-1]
        margin = box.margin_left if first else box.margin_right
        if not margin:
            continue
        if first:
            box.margin_left = 0
            for child in box.children:
                child.translate(-margin, 0)
        else:
            box.margin_right = 0
        _narrow_at_edge(chain, margin, first)


def trim_edge_marks(line) -> None:
    """Take a MARK's width away where it opens or ends the line (its text box narrows, what
    follows it on the line moves left); the box's layout, set again when drawn, leaves it out."""
    from weasyprint.formatting_structure import boxes

    for first in (True, False):
        chain = _edge_path(line, first, boxes)
        box = chain[-1]
        layout = getattr(box, "pango_layout", None)
        text = getattr(layout, "text", "")
        flag = "trim_start" if first else "trim_end"
        if (not isinstance(box, boxes.TextBox) or len(text) < 2 or text[0 if first else -1] != MARK
                or getattr(layout, flag, False)):
            continue
        width = _style_length(box.style, "__cjk_latin_space")
        setattr(layout, flag, True)
        box.width -= width
        _narrow_at_edge(chain, width, first)


def _has_class(box, name: str) -> bool:
    element = getattr(box, "element", None)
    return element is not None and name in (element.get("class") or "").split()


def _edge_path(line, first: bool, boxes) -> list:
    """[line, …, leaf]: the line's first (last) in-flow descendants, down through inline boxes
    to a text box, an atomic box or an empty inline box."""
    path, box = [line], line
    while isinstance(box, (boxes.LineBox, boxes.InlineBox)):
        kids = [c for c in box.children if c.is_in_normal_flow()]
        if not kids:
            break
        box = kids[0] if first else kids[-1]
        path.append(box)
    return path


def _narrow_at_edge(chain: list, amount: float, first: bool) -> None:
    """The line gives up `amount` at its start (`first`) or end, where `chain` ([line, …, box])
    leads: what follows the chain moves left, and every box holding `box` narrows."""
    if first:
        for parent, node in zip(chain, chain[1:]):
            for sibling in parent.children[parent.children.index(node) + 1:]:
                sibling.translate(-amount, 0)
    for ancestor in chain[:-1]:
        ancestor.width -= amount


# ---------- justification ----------

def justify_line(context, line, extra_width):
    """Replacement for `weasyprint.layout.inline.justify_line` (70.0): spread `extra_width`
    over the line's CJK characters when the style asks for inter-character justification,
    word spaces taking at most their share; else WeasyPrint's own way."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.layout.inline import add_word_spacing, count_expandable_spaces

    texts = list(_text_boxes(line, boxes))
    spaces = count_expandable_spaces(line)
    if not texts or _style_ident(line.style, "__cjk_justify") != "inter-character":
        if spaces:
            add_word_spacing(context, line, extra_width / spaces, 0)
        return
    spaced = [spaced_characters(box.text, texts[k - 1].text[-1:] if k else "",
                                texts[k + 1].text[:1] if k + 1 < len(texts) else "")
              for k, box in enumerate(texts)]
    units = sum(_units(box.text, s) for box, s in zip(texts, spaced))
    # a box edge between two spaced characters shows no spacing (Pango drops the halves): one unit after it
    joints = {k for k in range(len(texts) - 1)
              if spaced[k] and spaced[k + 1] and spaced[k][-1] == len(texts[k].text) - 1 and spaced[k + 1][0] == 0}
    units += len(joints)
    cjk_text = (line.style["lang"] or "")[:2] in ("zh", "ja", "ko")
    if not units and not cjk_text and not any(is_cjk(ch) for box in texts for ch in box.text):
        if spaces:  # a line of Latin words in Latin text: WeasyPrint's own way
            add_word_spacing(context, line, extra_width / spaces, 0)
        return
    em = line.style["font_size"]
    per_space = min(extra_width / (units + spaces) if units else extra_width / max(spaces, 1),
                    max(0.0, MAX_WORD_SPACE_EM * em - _space_width(context, line.style)))
    spacing = min((extra_width - per_space * spaces) / units, MAX_SPACING_EM * em) if units else 0.0
    plan = {id(box): ({i: spacing for i in s}, spacing if k in joints else 0.0)
            for k, (box, s) in enumerate(zip(texts, spaced))}
    _spread(context, line, plan, per_space, MAX_WORD_SPACE_EM * em, 0.0, boxes)


_SPACES: dict = {}


def _space_width(context, style) -> float:
    """The advance of a word space in this style's font (measured once per font and size)."""
    from weasyprint.text.line_break import create_layout, line_size

    key = (tuple(style["font_family"]), style["font_size"], style["font_weight"], style["font_style"])
    if key not in _SPACES:
        widths = []
        for text in ("x x", "xx"):
            layout = create_layout(text, style, context, max_width=None, justification_spacing=0)
            widths.append(line_size(layout.get_first_line()[0], style)[0])
        _SPACES[key] = max(0.0, widths[0] - widths[1])
    return _SPACES[key]


def _text_boxes(box, boxes):
    if isinstance(box, boxes.TextBox):
        yield box
    elif isinstance(box, (boxes.LineBox, boxes.InlineBox)):
        for child in box.children:
            if child.is_in_normal_flow():
                yield from _text_boxes(child, boxes)


def _spread(context, box, plan, per_space, widest_space, x_advance, boxes):
    """`add_word_spacing` with the spacing of `plan` (box id -> ({character: px}, px after
    the box)); no word space grows past `widest_space` (a monospace space is already half an em)."""
    from weasyprint.text.line_break import create_layout, line_size

    if isinstance(box, boxes.TextBox):
        spacing, after = plan.get(id(box), ({}, 0.0))
        spaced = " " in box.text or "\u00a0" in box.text
        if not spacing and not spaced:  # nothing to widen inside: the box only moves
            box.position_x += x_advance
            box.width += after
            return x_advance + after
        box.position_x += x_advance
        layout = getattr(box, "pango_layout", None)
        if not spaced and getattr(layout, "text", None) == box.text:
            # Only CJK spacing: the width grows by what Pango will show (the outer halves at the
            # box's ends dropped); the letter-spacing is applied when the line is drawn
            # (draw_text reactivates the layout), so no layout is made again here.
            layout.char_spacing = spacing
            grown = sum(spacing.values()) - 0.5 * (spacing.get(0, 0.0) + spacing.get(len(box.text) - 1, 0.0)) + after
            box.width += grown
            return x_advance + grown
        if spaced:
            per_space = min(per_space, max(0.0, widest_space - _space_width(context, box.style)))
        box.justification_spacing = per_space
        trims = {flag: getattr(layout, flag, False) for flag in ("trim_start", "trim_end")}
        layout = create_layout(box.text, box.style, context, max_width=None, justification_spacing=per_space)
        layout.__dict__.update(trims)  # a mark taken away at the line's edge stays away
        layout.char_spacing = spacing
        layout.set_text(box.text, justify=True)
        first_line, _ = layout.get_first_line()
        width, _ = line_size(first_line, box.style)
        layout.deactivate()
        grown = width - box.width + after
        box.width += grown
        box.pango_layout = layout
        return x_advance + grown
    if isinstance(box, (boxes.LineBox, boxes.InlineBox)):
        box.position_x += x_advance
        before = x_advance
        for child in box.children:
            if child.is_in_normal_flow():
                x_advance = _spread(context, child, plan, per_space, widest_space, x_advance, boxes)
        box.width += x_advance - before
        return x_advance
    box.translate(x_advance, 0)
    return x_advance
