"""Book + the press file's page count -> a wrap-around cover PDF for the print shop, and the
front cover as a PNG for online stores.

The sheet is back + spine + front, with bleed all round: spine width = leaves x
`[print] paper-thickness` (TYPOGRAPHY.md, 印刷). The front is the series' `cover` image (or the
generated design, render/cover.py) converted to the press file's CMYK; the spine carries title
and author (stacked upright for CJK, rotated otherwise) when it is wide enough to hold type; the
back the title, description and contents. Colours are CMYK like the book's, and the sheet gets
the book's own marks (crop marks, plus fold marks at the spine) in a slug and its output intent.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from PIL import Image, ImageOps

from ..book import Book
from ..files import atomic_path, atomic_write
from ..images.cache import ImageCache
from ..themes import Theme
from .press import PT_PER_MM, PressPlan, convert_for_press, css_cmyk, marks_content, press_plan

MIN_SPINE_TEXT_MM = 5.0  # under this the spine holds no type (print-on-demand services ask the same)
SPINE_MARGIN_MM = 18.0  # type on the spine keeps this far from the head and the foot
STORE_WIDTH = 1600  # pixels across the front-cover PNG
CJK = re.compile(r"^(zh|ja|ko)\b", re.I)
# Punctuation stacked on a spine takes its vertical presentation form (Unicode FE10-FE19,
# FE30-FE44), as vertical setting does (W3C clreq §3.1.7); WeasyPrint 70 has no writing-mode.
VERTICAL_FORMS = str.maketrans("、。，：；！？（）《》「」『』—…", "︑︒︐︓︔︕︖︵︶︽︾﹁﹂﹃﹄︱︙")


@dataclass(frozen=True)
class CoverGeometry:
    """Millimetres: the trim of one panel, the spine and the bleed."""

    trim_w: float
    trim_h: float
    spine: float
    bleed: float

    @property
    def width(self) -> float:
        return 2 * self.trim_w + self.spine

    @property
    def height(self) -> float:
        return self.trim_h


def cover_geometry(book: Book, pages: int) -> CoverGeometry:
    """The sheet for a press file of `pages` pages: a leaf is two pages."""
    width, height = book.manifest.pdf.trim
    spine = round(pages / 2 * book.manifest.press.paper_thickness, 2)
    return CoverGeometry(width, height, spine, book.manifest.pdf.bleed)


def write_wrap_cover(book: Book, pdf_path: Path, png_path: Path, theme: Theme, cache: ImageCache, pages: int) -> None:
    """The wrap-around cover PDF and the store PNG of a book whose press file has `pages` pages."""
    from .parts import PartJob, render_part
    plan = press_plan(book.manifest.press, book.manifest.pdf.bleed)
    g = cover_geometry(book, pages)
    design = _front_design(book, cache, g)
    front = cache.derived(f"press-cover-{plan.profile_digest}-{plan.max_ink}-{hashlib.sha256(design).hexdigest()}.jpg")
    if not front.is_file():
        atomic_write(front, convert_for_press(design, plan, line_art=False)[0])
    markup = theme.render("pdf/wrap-cover.html", **_view(book, g, plan, design, pages), front=front.as_uri(),
                          created=book.modified.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    roots = (str(cache.root / "derived"), *(str(f) for f in theme.folders))
    options = (("pdf_variant", "pdf/x-4"), ("output_intent", "device-cmyk"),
               ("pdf_identifier", book.identifier.encode()[:32]))
    with atomic_path(pdf_path) as temporary:
        render_part(PartJob("cover", markup, (theme.css("press.css"),), roots, options), temporary)
        _dress(temporary, plan, g, str(uuid.uuid5(uuid.NAMESPACE_URL, book.identifier + "#cover")))
    with atomic_path(png_path) as temporary:
        store_png(design, g).save(temporary, "PNG", optimize=True)


def _front_design(book: Book, cache: ImageCache, g: CoverGeometry) -> bytes:
    """The front: the series' cover image, else the generated design in the trim's proportions
    (the e-book's 1600 x 2560 would lose its frame to the crop); kept in the cache."""
    if book.manifest.cover:
        return book.manifest.cover.read_bytes()
    from .cover import make_cover
    size = (STORE_WIDTH, round(STORE_WIDTH * g.trim_h / g.trim_w))
    design = (book.title, book.subtitle, len(book.chapters), book.authors, book.language, size)
    key = hashlib.sha256(repr(design).encode()).hexdigest()
    derived = cache.derived(f"cover-design-{key}.jpg")
    if not derived.is_file():
        atomic_write(derived, make_cover(*design[:5], size=size))
    return derived.read_bytes()


def _view(book: Book, g: CoverGeometry, plan: PressPlan, design: bytes, pages: int) -> dict:
    """What the template needs: geometry, colours in CMYK, spine type size, back text."""
    ground = css_cmyk(_edge_colour(design), plan)
    vertical = bool(CJK.match(book.language))
    spine_pt, author = _spine_type(book, g, vertical)
    spine_title = book.title.translate(VERTICAL_FORMS) if vertical else book.title
    description = book.manifest.description or book.subtitle
    return {"book": book, "g": g, "pages": pages, "spine_pt": spine_pt, "vertical": vertical, "spine_title": spine_title,
            "spine_author": author.translate(VERTICAL_FORMS) if vertical else author,
            "ground": "device-cmyk(%g %g %g %g)" % ground, "paper": "device-cmyk(0 0 0 0)",
            "description": description, "contents": [c.title for c in book.chapters][:16]}


def _spine_type(book: Book, g: CoverGeometry, vertical: bool) -> tuple[float, str]:
    """(point size of the spine title, the author line that still fits; 0 when the spine is too
    thin for type). Stacked CJK characters take 1.15 em each; the author is set at 0.75 of the
    title's size, 10 mm below it."""
    if g.spine < MIN_SPINE_TEXT_MM:
        return 0.0, ""
    room = (g.trim_h - 2 * SPINE_MARGIN_MM) * PT_PER_MM
    size = min(g.spine * 0.55, 7.0) * PT_PER_MM
    author = "、".join(book.authors) if vertical else ", ".join(book.authors)
    title_len = len(book.title) if vertical else len(book.title) * 0.6
    size = min(size, room / max(1.0, title_len * 1.15))
    author_len = len(author) if vertical else len(author) * 0.6
    if title_len * 1.15 * size + author_len * 1.15 * 0.75 * size + 10 * PT_PER_MM > room:
        author = ""
    return round(size, 2), author


def _edge_colour(design: bytes) -> tuple[int, int, int]:
    """The design's colour at its left edge (where the front meets the spine)."""
    im = Image.open(io.BytesIO(design)).convert("RGB")
    strip = im.crop((0, 0, max(1, im.width // 40), im.height)).resize((1, 1), Image.Resampling.BOX)
    return strip.getpixel((0, 0))


def store_png(design: bytes, g: CoverGeometry) -> Image.Image:
    """The front as online stores want it: RGB, the trim's proportions, cropped as the PDF crops."""
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(design))).convert("RGB")
    return ImageOps.fit(im, (STORE_WIDTH, round(STORE_WIDTH * g.trim_h / g.trim_w)), Image.Resampling.LANCZOS)


def _dress(path: Path, plan: PressPlan, g: CoverGeometry, document_id: str) -> None:
    """The sheet's slug, marks (crop marks and fold marks at the spine) and output intent,
    added with pikepdf, as press.Dressing does for the book."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        page = pdf.pages[0]
        trim = [float(v) for v in page.TrimBox]
        bleed, slug = plan.bleed_mm * PT_PER_MM, plan.slug_mm * PT_PER_MM
        page.MediaBox = [trim[0] - bleed - slug, trim[1] - bleed - slug, trim[2] + bleed + slug, trim[3] + bleed + slug]
        folds = (trim[0] + g.trim_w * PT_PER_MM, trim[0] + (g.trim_w + g.spine) * PT_PER_MM)
        marks = marks_content(trim, bleed, slug, plan.marks, folds)
        page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
        page.contents_add(pdf.make_stream(b"\nQ\n" + marks))
        profile = pdf.make_stream(plan.profile.read_bytes(), N=4)
        pdf.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
            Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFX, OutputConditionIdentifier=plan.condition,
            Info=plan.description, RegistryName="http://www.color.org", DestOutputProfile=profile)])
        if "/Metadata" in pdf.Root:  # WeasyPrint's PDF/X-4 XMP carries a random document id
            xmp = re.sub(rb"xmp\.did:[0-9a-f-]{36}", b"xmp.did:" + document_id.encode(), pdf.Root.Metadata.read_bytes())
            pdf.Root.Metadata.write(xmp)
        pdf.save(path, deterministic_id=True)
