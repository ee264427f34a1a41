"""Chinese justification and Chinese–Latin spacing for WeasyPrint 70: a contained extension.

In: WeasyPrint's line boxes while it lays out and draws a document. Out: the same lines with
(a) about a quarter em between a Han character and an adjacent Latin letter or digit, set as
spacing (the text stays the author's: copying and searching are unchanged), and (b) every
justified line flush at both edges by spacing out the gaps between CJK characters, the way
W3C's clreq describes (§3.8, inter-character justification), instead of WeasyPrint's
word-spaces-only justification, which leaves lines of 汉字 ragged and dumps a mixed line's
slack into its few word spaces.

Both are switched on by the stylesheet, so a theme decides:
  --cjk-autospace: 0.25;              em between Han and Latin (0 or absent: off)
  --cjk-justify: inter-character;     justified lines spread over CJK gaps (absent: off)

How (WeasyPrint 70.0, Pango 1.50): WeasyPrint applies extra space as Pango letter-spacing
attributes (`text/line_break.py`, `Layout.set_text`). Pango gives a character with
letter-spacing L half of L before it and half after, and drops the outer halves at the ends
of a layout line. So a wanted extra g_i in gap i (between characters i and i+1 of a text
box) is met by per-character spacings with L_i/2 + L_{i+1}/2 = g_i (`character_spacing`);
Latin letters get none, so words are never letter-spaced. `Layout.set_text` is wrapped to add
these attributes (the autospace ones always, so line breaking sees them; the justification
ones only when drawing, like WeasyPrint's own word spacing), and `layout.inline.justify_line`
is replaced to share a line's slack out over its CJK gaps, capping word spaces at half an em.

Pinned to WeasyPrint 70.0 (`install` refuses another version): the names wrapped here are
internals. Written so it could be offered upstream as `text-justify: inter-character` and
`text-autospace`.
"""
from __future__ import annotations

import bisect
import importlib.metadata
import re
import unicodedata

PINNED = "70.0"
MAX_WORD_SPACE_EM = 0.45  # a word space in a mixed line never grows past this (glyph to glyph)
MAX_GAP_EM = 0.2  # nor a gap between characters: past it a line is left short (a long word follows)
_INSTALLED: list = []

# What may be spaced: Han, kana, hangul, CJK symbols and punctuation, full-width forms, and
# the quotation marks Chinese text sets from the CJK font (clreq §3.1.4).
_CJK = re.compile(r"[\u2e80-\u2fdf\u3000-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
                  r"\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\u2018\u2019\u201c\u201d\u2014\u2026\u00b7\u200b]")
_CJK_RUN = re.compile(_CJK.pattern + "+")
# Full-width marks: a gap between two of them (a compressed pair) or after such a pair is not
# widened, so a pair set in 1.5 em stays so (clreq §3.1.6).
PUNCT = set("，。、；：？！“”‘’「」『』（）《》〈〉【】〔〕…—·")
ZERO_WIDTH = "\u200b\u2060"
_HAN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def is_han(ch: str) -> bool:
    return bool(_HAN.match(ch))


def is_latin(ch: str) -> bool:
    """A letter or digit of a Latin, Greek or Cyrillic word (what autospace sets apart)."""
    return ch.isalnum() and not is_cjk(ch) and unicodedata.east_asian_width(ch) in ("Na", "N", "A", "H")


_LATIN = "A-Za-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"
_HAN_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Boundaries between Han (and kana) and a Latin, Greek or Cyrillic letter or digit, found in one
# scan (set_text runs for every line WeasyPrint tries, on the paragraph's remaining text).
_HAN_LATIN = re.compile(f"(?<=[{_HAN_CLASS}])(?=[{_LATIN}])|(?<=[{_LATIN}])(?=[{_HAN_CLASS}])")


def autospace_gaps(text: str, em: float) -> dict[int, float]:
    """Gap index i (between text[i] and text[i+1]) -> space between Han and Latin, in px."""
    if not em:
        return {}
    return {m.start() - 1: em for m in _HAN_LATIN.finditer(text)}


def expandable_gaps(text: str, before: str = "") -> list[int]:
    """Gaps that inter-character justification may widen: next to a CJK character on either
    side, never inside a Latin word, at a space (spaces stretch as word spaces), before a
    zero-width break, or inside or after a pair of marks (`before`: the character that
    precedes `text` on the line)."""
    out = []
    for i in range(len(text) - 1):
        left, right = text[i], text[i + 1]
        if left in " \u00a0" or right in " \u00a0" or right in ZERO_WIDTH or not (is_cjk(left) or is_cjk(right)):
            continue
        previous = text[i - 1] if i else before
        if left in PUNCT and (right in PUNCT or previous in PUNCT):
            continue
        out.append(i)
    return out


def joint_expandable(left_text: str, right_text: str) -> bool:
    """May the gap between two text boxes on a line widen (see `expandable_gaps`)?"""
    if not left_text or not right_text:
        return False
    a, b = left_text[-1], right_text[0]
    if a in " \u00a0" or b in " \u00a0" or b in ZERO_WIDTH or not (is_cjk(a) or is_cjk(b)):
        return False
    return not (a in PUNCT and (b in PUNCT or (left_text[-2:-1] or " ") in PUNCT))


def character_spacing(text: str, gaps: dict[int, float]) -> dict[int, float]:
    """Per-character letter-spacing (px) that puts gaps[i] between text[i] and text[i+1].

    A character's spacing L adds L/2 on each side, and a gap may only be fed by its CJK
    neighbours (Latin letters get none). Gaps are solved run by run of CJK characters:
    inside a run L_k/2 + L_{k+1}/2 = g_k; a run bordered by Latin letters on both sides has
    one equation more than unknowns, so its gaps are met as closely as least squares allows
    (an alternating correction; the sum over a run stays exact)."""
    spacing: dict[int, float] = {}
    n = len(text)
    wanted = sorted(gaps)
    for run in _CJK_RUN.finditer(text):
        start, end = run.span()
        # only runs a wanted gap touches (gap i lies between characters i and i + 1)
        at = bisect.bisect_left(wanted, start - 1)
        if at < len(wanted) and wanted[at] <= end - 1:
            _solve_run(start, end, n, gaps, text, spacing)
    return spacing


def _solve_run(start: int, end: int, n: int, gaps: dict, text: str, spacing: dict) -> None:
    """Spacing for the CJK run text[start:end] (see `character_spacing`)."""
    # Any neighbour inside the box receives half of its CJK neighbour's spacing: a Latin letter
    # wants its gap (autospace), a space wants none (it is stretched as a word space). Only the
    # box's own ends are free: Pango drops the outer halves there.
    left = start > 0
    right = end < n
    wanted = ([gaps.get(start - 1, 0.0)] if left else []) + [gaps.get(i, 0.0) for i in range(start, end - 1)] \
        + ([gaps.get(end - 1, 0.0)] if right else [])
    if not any(wanted):
        return
    if left and right:
        # c characters, c + 1 gaps: their alternating sum is always 0. The nearest such gaps
        # (least squares) move each wanted gap by the same share of the misfit.
        misfit = sum(g if j % 2 == 0 else -g for j, g in enumerate(wanted))
        wanted = [g - (misfit if j % 2 == 0 else -misfit) / len(wanted) for j, g in enumerate(wanted)]
    count = end - start
    if right and not left:  # solve from the bordered end: L_last / 2 = the last gap
        values = [2 * wanted[-1]]
        for g in reversed(wanted[:-1]):
            values.append(2 * g - values[-1])
        values.reverse()
    else:  # from the left: L_0 / 2 = the left gap, or L_0 = 0 at a space or the box's edge
        values = [2 * wanted[0]] if left else [0.0]
        for g in (wanted[1:] if left else wanted)[: count - 1]:
            values.append(2 * g - values[-1])
    for j, value in enumerate(values):
        if value:
            spacing[start + j] = value


def _style_number(style, name: str) -> float:
    try:
        tokens = style[name]
    except (KeyError, TypeError):
        return 0.0
    for token in tokens or ():
        if getattr(token, "type", "") == "number":
            return float(token.value)
    return 0.0


def _style_ident(style, name: str) -> str:
    try:
        tokens = style[name]
    except (KeyError, TypeError):
        return ""
    return next((t.value for t in tokens or () if getattr(t, "type", "") == "ident"), "")


def autospace_em(style) -> float:
    return _style_number(style, "__cjk_autospace")


def install() -> None:
    """Wrap WeasyPrint's text layout and justification (once per process)."""
    if _INSTALLED:
        return
    version = importlib.metadata.version("weasyprint")
    if version != PINNED:
        raise RuntimeError(f"publisher.render.justify is written for WeasyPrint {PINNED}, not {version}")
    from weasyprint.layout import inline
    from weasyprint.text import line_break

    original_set_text = line_break.Layout.set_text

    def set_text(layout, text, justify=False):
        original_set_text(layout, text, justify)
        _add_spacing(layout, justify)

    line_break.Layout.set_text = set_text
    inline.justify_line = justify_line
    _INSTALLED.append(True)


def _add_spacing(layout, justify: bool) -> None:
    """Letter-spacing attributes for autospace (always) and inter-character justification
    (`layout.gap_extra`, when drawing), added to the ones WeasyPrint set."""
    from weasyprint.text.ffi import TO_UNITS, ffi, pango, unicode_to_char_p

    style = layout.style
    text = layout.text
    if not text or style["letter_spacing"] != "normal" or style["white_space"] not in ("normal", "nowrap", "pre-line"):
        return
    em = autospace_em(style) * style["font_size"]
    gaps = autospace_gaps(text, em)
    extra = getattr(layout, "gap_extra", None) if justify else None
    if extra:
        for i, px in extra.items():
            gaps[i] = gaps.get(i, 0.0) + px
    if not gaps:
        return
    spacing = character_spacing(text, gaps)
    if not spacing:
        return
    attrs = pango.pango_layout_get_attributes(layout.layout)
    if attrs == ffi.NULL:
        attrs = ffi.gc(pango.pango_attr_list_new(), pango.pango_attr_list_unref)
    start, done = 0, 0  # byte offset of text[done], walked forward once
    for index in sorted(spacing):
        start += len(text[done:index].encode("utf-8"))
        done = index
        attr = pango.pango_attr_letter_spacing_new(int(spacing[index] * TO_UNITS))
        attr.start_index, attr.end_index = start, start + len(text[index].encode("utf-8"))
        pango.pango_attr_list_change(attrs, attr)
    pango.pango_layout_set_attributes(layout.layout, attrs)
    layout._keep_attrs = attrs  # keep the list alive as long as the layout


# ---------- justification ----------

def justify_line(context, line, extra_width):
    """Replacement for `weasyprint.layout.inline.justify_line` (70.0): spread `extra_width`
    over the line's CJK gaps when the style asks for inter-character justification, word
    spaces taking at most their share up to MAX_WORD_SPACE_EM; else WeasyPrint's own way."""
    from weasyprint.formatting_structure import boxes
    from weasyprint.layout.inline import add_word_spacing, count_expandable_spaces

    texts = list(_text_boxes(line, boxes))
    if not texts or _style_ident(line.style, "__cjk_justify") != "inter-character":
        if (spaces := count_expandable_spaces(line)):
            add_word_spacing(context, line, extra_width / spaces, 0)
        return
    gaps = [expandable_gaps(box.text, texts[k - 1].text[-1:] if k else "") for k, box in enumerate(texts)]
    # a gap between two boxes (e.g. text, then a link) widens after the first box
    joints = [k for k in range(len(texts) - 1) if joint_expandable(texts[k].text, texts[k + 1].text)]
    cjk = sum(len(g) for g in gaps) + len(joints)
    spaces = count_expandable_spaces(line)
    if not cjk and not any(is_cjk(ch) for box in texts for ch in box.text):
        if spaces:  # a line of Latin words: WeasyPrint's own way
            add_word_spacing(context, line, extra_width / spaces, 0)
        return
    em = line.style["font_size"]
    per_space = min(extra_width / (cjk + spaces) if cjk else extra_width / max(spaces, 1),
                    max(0.0, MAX_WORD_SPACE_EM * em - _space_width(context, line.style)))
    per_gap = min((extra_width - per_space * spaces) / cjk, MAX_GAP_EM * em) if cjk else 0.0
    plan = {id(box): ({i: per_gap for i in g}, per_gap if k in joints else 0.0)
            for k, (box, g) in enumerate(zip(texts, gaps))}
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
    """`add_word_spacing` with the gaps of `plan` (box id -> ({gap: px}, px after the box));
    no word space grows past `widest_space` (a monospace space is already half an em)."""
    from weasyprint.text.line_break import create_layout, line_size

    if isinstance(box, boxes.TextBox):
        gaps, after = plan.get(id(box), ({}, 0.0))
        spaced = " " in box.text or "\u00a0" in box.text
        if not gaps and not spaced:  # nothing to widen inside: the box only moves
            box.position_x += x_advance
            box.width += after
            return x_advance + after
        if spaced:
            per_space = min(per_space, max(0.0, widest_space - _space_width(context, box.style)))
        box.justification_spacing = per_space
        box.position_x += x_advance
        layout = create_layout(box.text, box.style, context, max_width=None, justification_spacing=per_space)
        layout.gap_extra = gaps
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
