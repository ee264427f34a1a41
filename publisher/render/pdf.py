"""Book -> the PDF book (screen or press), with WeasyPrint (its A4 handouts: handouts.py).

Recipe for the book: each episode is laid out as its own document (in parallel, and cached by
content: an unchanged episode is never laid out again); the front matter (title page,
colophon, 目录 with the page numbers the episodes landed on) is laid out last; the assembler
joins them, opening every episode on a recto, and stamps the folios. The press variant
(press.py) adds bleed, CMYK colour and photos, marks in a slug, signature padding and a PDF/X-4
output intent; the screen variant keeps images light.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import importlib.metadata
import math
import re
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from ..book import Asset, Book, Chapter, PrintPages
from ..cache import Cache, code_version
from ..errors import Problem
from ..files import atomic_path, atomic_write
from ..images.cache import ImageCache
from ..images.process import ImageInfo, for_pdf
from ..manifest import PdfSettings
from ..themes import Theme
from .assemble import ChapterMarks, Folios, assemble, body_layout
from .pagelist import print_pages, print_source
from .parts import PartCache, PartJob, RenderedPart, default_workers, render_all
from .press import SLUG_LINE_AT_MM, PressPlan, SlugLine, cmyk_css, dressing, padding, press_images, press_plan
from .segments import Earlier, Segment
from .typeset import typeset

PT_PER_MM = 72 / 25.4
ASSEMBLY_CODE = code_version(*(Path(__file__).parent / name for name in (
    "assemble.py", "pdfwrite.py", "press.py", "fonts.py", "navigation.py", "segments.py")))
PIKEPDF_VERSION = importlib.metadata.version("pikepdf")
TYPESET_CODE = code_version(*(Path(__file__).parent / name for name in ("typeset.py", "autospace.py")))
PX_PER_PT = 4 / 3
BLOCK_SLACK = 0.01  # points
FOLIO_GAP_MM = 5  # from the text block's foot to the top of the folio
FRONT_MARKS = {"colophon": "版权信息", "toc": "目录"}
MAX_TOC_SECTIONS = 150  # past this, a printed 目录 with every section runs to many pages: episodes only


@dataclass(frozen=True)
class Geometry:
    width_mm: float
    height_mm: float
    font_pt: float
    chars: int
    inner: float  # points
    outer: float
    top: float
    bottom: float
    text_width: float
    text_height: float
    bleed: float  # millimetres, 0 for the screen


def geometry(settings: PdfSettings, press: bool, font_pt: float = 10.5, chars: int | None = None) -> Geometry:
    """Margins that make the text block a whole number of characters wide (`chars`, or as
    many as fit in 78% of the page's width)."""
    width_mm, height_mm = settings.trim
    width = width_mm * PT_PER_MM
    height = height_mm * PT_PER_MM
    chars = chars or math.floor(width * 0.78 / font_pt)
    text_width = chars * font_pt
    rest = width - text_width
    inner = round(rest * 0.54, 2)
    # The block is computed first and the outer margin takes the rest, less a hair (BLOCK_SLACK):
    # a block rounded a few thousandths of a point short of N characters holds N - 1.
    outer = rest - inner - BLOCK_SLACK
    top, bottom = round(height * 0.095, 2), round(height * 0.1, 2)
    return Geometry(width_mm, height_mm, font_pt, chars, inner, outer, top, bottom,
                    text_width, round(height - top - bottom - 24, 2), settings.bleed if press else 0.0)


def css_string(value: str) -> str:
    """Escape text for a CSS string (also against closing a <style> element)."""
    return re.sub(r'["\\<>\n\r]', lambda m: "\\%x " % ord(m.group(0)), value)


def pdf_image(asset: Asset, cache: ImageCache, lossless: bool) -> Path:
    """The file WeasyPrint embeds for an asset (see `for_pdf`), made once and kept in the cache."""
    if made := _made_pdf_image(asset, cache, lossless):
        return made
    data, kind = for_pdf(cache.read(asset.sha256), ImageInfo(asset.type, asset.width, asset.height), lossless)
    derived = cache.derived(f"pdf-{int(lossless)}-{asset.sha256}{'.jpg' if kind == 'image/jpeg' else '.png'}")
    atomic_write(derived, data)
    return derived


@dataclass(frozen=True)
class _Setup:
    """What every part of one book PDF shares."""

    g: Geometry
    roots: tuple[str, ...]
    base_css: str
    created: str
    plan: PressPlan | None  # the press file's colour, marks and signatures; None for the screen

    @property
    def press(self) -> bool:
        return self.plan is not None

    @property
    def options(self) -> tuple:
        """Writer options of every part: the press file's transparency groups blend in CMYK
        (WeasyPrint's default group space follows output_intent); the output intent itself is
        written once by the assembler (press.Dressing), not in every part."""
        return (("output_intent", "device-cmyk"),) if self.plan else ()

    def inks(self, css: str) -> str:
        """A stylesheet as the file prints it: in the press file, every colour in CMYK."""
        return cmyk_css(css, self.plan) if self.plan else css


def _setup(book: Book, theme: Theme, cache: ImageCache, press: bool) -> _Setup:
    g = geometry(book.manifest.pdf, press)
    roots = [cache.root / "objects", cache.root / "derived", *theme.folders]
    created = book.modified.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = press_plan(book.manifest.press, book.manifest.pdf.bleed) if press else None
    base_css = cmyk_css(theme.css("pdf.css"), plan) + "\n" + theme.css("press.css") if press else theme.css("pdf.css")
    return _Setup(g, tuple(str(r) for r in roots), base_css, created, plan)


def chapter_view(chapter: Chapter, book: Book, href, cache: Cache) -> dict:
    """What the templates need of a chapter."""
    return {"key": chapter.key, "number": chapter.number, "title": chapter.title, "lang": chapter.lang,
            "subtitle": chapter.subtitle, "short_title": chapter.short_title,
            "full_title": chapter.full_title, "author": chapter.author, "byline": chapter.byline,
            "body": chapter.body_with(href, _typeset(chapter.body, cache))}


def _typeset(body: str, cache: Cache) -> str:
    """`typeset` of a chapter body (its images still `asset:` references), kept in the cache:
    typesetting 100 episodes took 0.43 s of every build, one with nothing to lay out or one
    edited post alike. Each build notes the entry as used (for `publisher cache prune`)."""
    key = hashlib.sha256((TYPESET_CODE + body).encode("utf-8", "surrogatepass")).hexdigest()
    return _typeset_at(cache.use(cache.folder("typeset") / key[:2] / f"{key}.html"), body)


@functools.lru_cache(maxsize=256)
def _typeset_at(path: Path, body: str) -> str:
    """The entry at `path`, made first when missing; once per process (a build of several
    formats asks for each body again: the screen parts, the press parts' makeup lookup, the
    handouts), the last 256 of them (the preview rebuilds for hours)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        text = typeset(body)
        atomic_write(path, text.encode("utf-8"))
        return text


@dataclass(frozen=True)
class _Laid:
    """Every part of one book PDF, laid out (or found in the cache)."""

    setup: _Setup
    front: RenderedPart
    episodes: list[RenderedPart]
    blank: RenderedPart
    digits: RenderedPart
    store: PartCache
    slug: RenderedPart | None = None  # the press file's slug line sheet, when [print] marks ask for it

    @property
    def pages(self) -> int:
        """The assembled book's page count (a press file padded to whole signatures)."""
        front = self.front.pages + self.front.pages % 2
        starts = body_layout(self.episodes)
        count = front + ((starts[-1] + self.episodes[-1].pages) if self.episodes else 0)
        return count + (padding(count, self.setup.plan.pages_multiple) if self.setup.plan else 0)


def _lay_out(book: Book, theme: Theme, cache: ImageCache, press: bool, workers: int | None, progress,
             press_twins: bool = False) -> _Laid:
    """Every part of the book, laid out or from the cache. `press_twins` (a screen book in a
    build that makes the press file too): each episode laid out is also painted as the press
    file's part from the same layout (repaint.py), so the press file lays out nothing again."""
    theme.env.filters["css_string"] = css_string
    setup = _setup(book, theme, cache, press)
    images = _images(book, cache, setup, workers)
    store = PartCache(cache)
    premade = _screen_makeup(book, theme, cache, store) if press else {}
    jobs = [replace(job, premade=premade.get(job.name, ())) for job in _episode_jobs(book, theme, setup, images, cache)]
    twins = {}
    if press_twins and not press:
        twin_setup = _setup(book, theme, cache, press=True)
        twin_images = _images(book, cache, twin_setup, workers)
        twins = {job.name: job for job in _episode_jobs(book, theme, twin_setup, twin_images, cache)}
    jobs.append(PartJob("blank", '<html lang="zh"><body class="book"></body></html>', _body_styles(book, theme, setup),
                        setup.roots, setup.options, defer_fonts=True))
    jobs.append(_digits_job(setup, theme))
    slug = [_slug_job(book, setup, theme)] if press and "slug" in setup.plan.marks else []
    parts = render_all(jobs + slug, store, workers or default_workers(), progress, twins=twins)
    *episodes, blank, digits = parts[:len(jobs)]
    front = _front(book, theme, setup, episodes, store)
    return _Laid(setup, front, episodes, blank, digits, store, parts[-1] if slug else None)


def _images(book: Book, cache: ImageCache, setup: _Setup, workers: int | None) -> dict[str, str]:
    """Asset key -> the URI of its file in this PDF: the press file's photos in its inks."""
    if setup.press:
        return {key: path.as_uri() for key, path in
                press_images(book.assets, cache, setup.plan, workers or default_workers()).items()}
    return {key: pdf_image(asset, cache, lossless=False).as_uri() for key, asset in book.assets.items()}


def _body_styles(book: Book, theme: Theme, setup: _Setup) -> tuple[str, str]:
    pages_css = setup.inks(theme.render("pdf/pages.css", g=setup.g, book=book, front=False, stamped=True))
    return pages_css, setup.base_css


def _episode_jobs(book: Book, theme: Theme, setup: _Setup, images: dict, cache: Cache) -> list[PartJob]:
    """One part per episode, named by its key."""
    styles = _body_styles(book, theme, setup)
    tags = setup.options if setup.press else (("pdf_tags", True),)  # the screen PDF is tagged for assistive technology
    return [PartJob(c.key, theme.render("pdf/body.html", book=book, chapters=[chapter_view(c, book, images.get, cache)],
                                        created=setup.created), styles, setup.roots, tags, defer_fonts=True,
                    makeup=True)
            for c in book.chapters]


def _screen_makeup(book: Book, theme: Theme, cache: ImageCache, store: PartCache) -> dict[str, tuple]:
    """Episode key -> the makeup passes (makeup.py) its screen part was given, for the screen
    parts in the cache. The press file's pages are laid out as the screen's: same trim, text
    and image sizes; bleed lies outside the page box, and colours, photos' inks and tags do not
    move a line (measured: every anchor of every part at the same place, to 0.01 px). So a
    press part starts from the screen's decisions and needs one layout, not two or three."""
    images = {}
    for key, asset in book.assets.items():
        made = _made_pdf_image(asset, cache)
        if made is None:  # the screen PDF was not built with these images
            return {}
        images[key] = made.as_uri()
    found = {}
    for job in _episode_jobs(book, theme, _setup(book, theme, cache, press=False), images, cache):
        part = store.load(job)
        if part is not None and part.makeup:
            found[job.name] = part.makeup
    return found


def _made_pdf_image(asset: Asset, cache: ImageCache, lossless: bool = False) -> Path | None:
    """`pdf_image`'s file when it is already made (or needs no making), else None."""
    if asset.type == "image/jpeg" or lossless and asset.type == "image/png":
        return cache.object_path(asset.sha256)
    return next((d for ext in (".jpg", ".png") if (d := cache.derived(f"pdf-{int(lossless)}-{asset.sha256}{ext}")).is_file()),
                None)


def press_page_count(book: Book, theme: Theme, cache: ImageCache, workers: int | None = None, progress=None) -> int:
    """How many pages the press file has (for the cover's spine); its parts come from the
    cache when the press file was built."""
    return _lay_out(book, theme, cache, True, workers, progress).pages


def write_book_pdf(book: Book, path: Path, theme: Theme, cache: ImageCache, press: bool,
                   workers: int | None = None, progress=None, press_twins: bool = False) -> tuple[list[Problem], PrintPages]:
    """The book PDF at `path`; its warnings, and where its pages begin (for the EPUB's page list).
    `press_twins`: the build makes the press file too (see `_lay_out`)."""
    laid = _lay_out(book, theme, cache, press, workers, progress, press_twins)
    folios = _folios(laid.digits, laid.setup.g)
    marks = [ChapterMarks(c.long_title, c.key, c.toc) for c in book.chapters]
    slug = SlugLine(laid.slug, laid.slug.anchors) if laid.slug else None
    dress = dressing(laid.setup.plan, (0, 0, *(v * 0.75 for v in laid.front.size)), slug) if press else None
    document_id = str(uuid.uuid5(uuid.NAMESPACE_URL, book.identifier))
    front_marks = {anchor: theme.text(label) for anchor, label in FRONT_MARKS.items()}
    # a build whose parts and dressing are all unchanged leaves the book it wrote last time alone
    targets = toc_targets(book)
    key = _assembly_key(laid, (folios, marks, front_marks, document_id, dress, targets))
    record = laid.store.path(hashlib.sha256(str(path.resolve()).encode("utf-8", "surrogatepass")).hexdigest(),
                             ".written.json")
    written = _written(path, record)
    if written.get("key") != key:
        # the book written last time, if still as written: its unchanged episodes are copied from it
        earlier = Earlier(path, {k: Segment(**v) for k, v in written.get("segments", {}).items()}) if written else None
        with atomic_path(path) as temporary:
            segments = assemble(laid.front, laid.episodes, laid.blank, folios, marks, front_marks, laid.store.fonts,
                                temporary, document_id, dress, targets, earlier)
        stat = path.stat()
        atomic_write(record, json.dumps({"key": key, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                                         "segments": {k: vars(v) for k, v in segments.items()}}).encode())
    pages = print_pages(book, laid.episodes, print_source(book, press))
    return (low_resolution(book, laid.setup.g) if press else []), pages


def _written(path: Path, record: Path) -> dict:
    """The record of the book at `path` (its assembly key, and where each episode lies in it)
    when the file is as an earlier build wrote it (same size and modification time); else {}.
    A record per output, not a copy of the book in the cache: the preview rebuilds on every save
    and would pile up whole books."""
    try:
        written = json.loads(record.read_text(encoding="utf-8"))
        stat = path.stat()
    except (OSError, ValueError):
        return {}
    same = (written.get("size"), written.get("mtime_ns")) == (stat.st_size, stat.st_mtime_ns)
    return written if same else {}


def _assembly_key(laid: _Laid, inputs: tuple) -> str:
    """Everything `assemble` reads: the parts (their files are named by their keys), what goes
    on them (folios, bookmarks, the press file's dressing), and the assembler's own code."""
    def plain(value):
        if isinstance(value, RenderedPart):  # a part found in the cache reads back lists for tuples
            return value.path.name
        if dataclasses.is_dataclass(value):
            return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        if isinstance(value, bytes):
            return hashlib.sha256(value).hexdigest()
        return str(value)
    # a part's fonts by the sha of their programs: an updated system font gives a new book
    parts = [(part.path.name, part.fonts) for part in (laid.front, *laid.episodes, laid.blank, laid.digits)]
    payload = json.dumps([ASSEMBLY_CODE, PIKEPDF_VERSION, parts, inputs], default=plain, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()


def _front(book: Book, theme: Theme, setup: _Setup, episodes: list[RenderedPart], store: PartCache) -> RenderedPart:
    """The front matter, laid out once the body's page numbers are known."""
    starts = body_layout(episodes)

    def folio(part: RenderedPart, start: int, anchor: str):
        page = part.anchors.get(anchor, (0,))[0]
        return start + page + 1

    depth = book.manifest.pdf.toc_depth or (2 if sum(len(c.toc) for c in book.chapters) <= MAX_TOC_SECTIONS else 1)
    # entries link to names of their place in the 目录, which the assembler resolves (toc_targets):
    # the episode keys change with every edit of a post, and the front matter would with them
    toc = [{"id": f"entry-{i}", "title": c.long_title, "page": folio(part, start, c.key),
            "children": [{"id": f"entry-{i}-{j}", "title": e.title, "page": folio(part, start, e.id)}
                         for j, e in enumerate(c.toc)] if depth > 1 else []}
           for i, (c, part, start) in enumerate(zip(book.chapters, episodes, starts))]
    chapters = [{"title": c.full_title, "byline": c.byline} for c in book.chapters]
    build_date = book.modified.astimezone(dt.timezone.utc).strftime("%Y-%m-%d")
    css = (setup.inks(theme.render("pdf/pages.css", g=setup.g, book=book, front=True, stamped=False)), setup.base_css)
    options = (("pdf_identifier", book.identifier.encode()[:32]),) + setup.options
    if setup.press:
        options += (("pdf_variant", "pdf/x-4"),)
    if not setup.press:
        options += (("pdf_tags", True),)
    markup = theme.render("pdf/front.html", book=book, chapters=chapters, toc=toc, build_date=build_date,
                          created=setup.created)
    return render_all([PartJob("front", markup, css, setup.roots, options, defer_fonts=True)], store, 1,
                      isolate=True)[0]


def toc_targets(book: Book) -> dict[str, str]:
    """The 目录's link names (`_front`) -> the anchors they stand for in the episodes' parts."""
    targets = {}
    for i, chapter in enumerate(book.chapters):
        targets[f"entry-{i}"] = chapter.key
        targets.update({f"entry-{i}-{j}": entry.id for j, entry in enumerate(chapter.toc)})
    return targets


def _digits_job(setup: _Setup, theme: Theme) -> PartJob:
    """A sheet of ten pages, page d showing the digit d where folios go, and a last page that
    measures each digit's advance."""
    g = setup.g
    top_px = (g.height_mm * PT_PER_MM - g.bottom + FOLIO_GAP_MM * PT_PER_MM) * PX_PER_PT
    markup = theme.render("pdf/digits.html", top=round(top_px, 3))
    css = f"@page {{ size: {g.width_mm}mm {g.height_mm}mm; margin: 0 }}"
    return PartJob("digits", markup, (css, setup.base_css), setup.roots, setup.options, defer_fonts=True)


def _slug_job(book: Book, setup: _Setup, theme: Theme) -> PartJob:
    """The slug line's sheet (press.SlugLine): the book's title and date, and digits for the
    page number; the title shortened so the line ends before the registration target at the
    foot's middle (6 pt characters are 2.1 mm wide)."""
    g = setup.g
    room = int((g.width_mm / 2 - 6 - SLUG_LINE_AT_MM[0]) / 2.2) - 10
    title = book.title if len(book.title) <= max(room, 4) else book.title[:max(room, 4) - 1] + "…"
    text = f"{title} · {book.modified.astimezone(dt.timezone.utc):%Y-%m-%d} · "
    markup = theme.render("pdf/slug.html", text=text, lang=book.language)
    css = f"@page {{ size: {g.width_mm}mm {g.height_mm}mm; margin: 0 }}"
    return PartJob("slug", markup, (css, setup.base_css), setup.roots, setup.options, defer_fonts=True)


def _folios(digits: RenderedPart, g: Geometry) -> Folios:
    advance = tuple((digits.anchors[f"e{d}"][1] - digits.anchors[f"s{d}"][1]) / 10 for d in range(10))
    return Folios(digits, advance, digits.anchors["o0"][1], g.outer * PX_PER_PT)


def low_resolution(book: Book, g: Geometry) -> list[Problem]:
    """Images that will print below [print] min-ppi at the width they are placed: one warning
    per image naming it, its episode and its resolution."""
    problems, wanted = [], book.manifest.press.min_ppi
    for chapter in book.chapters:
        for image in chapter.images:
            asset = book.assets[image.key]
            css_width = image.width or asset.width
            placed_pt = min(g.text_width, css_width * 0.75)
            ppi = asset.width / (placed_pt / 72) if placed_pt else 0
            if ppi < wanted:
                problems.append(Problem(
                    "image", f"low resolution: {asset.urls[0]} in 《{chapter.title}》 will print at {ppi:.0f} ppi "
                    f"({asset.width} px across {placed_pt / PT_PER_MM:.0f} mm; {wanted} ppi wanted)",
                    str(chapter.source)))
    return problems
