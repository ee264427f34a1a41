"""A part of a PDF (one episode, the front matter, a blank page, the folio digits) -> a PDF file
and what the assembler needs to know of its pages; laid out by WeasyPrint in a pool of
processes and kept in the cache, keyed by everything that decides the result.

A `PartJob` is self-contained (markup, stylesheets, readable folders, writer options), so it can
go to another process; its key is the sha256 of all of it plus WeasyPrint's version.

Book parts are written without font programs (`defer_fonts`; fonts.py). A part laid out for
the screen may have a twin (its press part) painted from the same layout (repaint.py). A lone
missing part goes to the build's early layout process (`early_pool`).
"""
from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import importlib.metadata
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..cache import Cache, code_version, font_file
from ..files import atomic_write
from . import makeup
from .fonts import LEDGER, keep_font_programs

PARTS_VERSION = 5  # how parts are written (5: handouts subset their fonts in one HarfBuzz pass)
WEASYPRINT_VERSION = importlib.metadata.version("weasyprint")  # without importing it (0.5 s)
# The justification extension and page makeup change layout: their code is part of every key.
JUSTIFY_CODE = code_version(*(Path(__file__).parent / name for name in ("justify.py", "makeup.py")))
MAKEUP_PASSES = 2


@dataclass(frozen=True)
class PartJob:
    name: str
    markup: str
    stylesheets: tuple[str, ...]
    roots: tuple[str, ...]  # folders the renderer may read
    options: tuple[tuple[str, object], ...] = ()  # write_pdf options
    defer_fonts: bool = False
    makeup: bool = False  # body text: mend pages a figure left a third empty (makeup.py)
    # makeup passes to apply before the first layout (another part with the same pages made them):
    # each a tuple of (figure number, (kind, value))
    premade: tuple = ()

    @functools.cached_property
    def key(self) -> str:
        """Each field length-prefixed into one digest (once per job: a build asks several times;
        JSON-encoding 100 episodes' markup for it was 0.06 s of a build)."""
        digest = hashlib.sha256()
        small = repr((PARTS_VERSION, WEASYPRINT_VERSION, JUSTIFY_CODE, self.roots,
                      [(k, str(v)) for k, v in self.options], self.defer_fonts, self.makeup, self.premade))
        for text in (small, self.markup, *self.stylesheets):
            data = text.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big") + data)
        return digest.hexdigest()


@dataclass(frozen=True)
class RenderedPart:
    name: str
    path: Path  # the part's PDF
    pages: int
    size: tuple[float, float]  # CSS px of the trim box
    anchors: dict = field(default_factory=dict)  # anchor -> (page index, x, y) in CSS px
    links: tuple = ()  # (page index, anchor, (x0, y0, x1, y1)) of internal links, CSS px
    fonts: dict = field(default_factory=dict)  # BaseFont -> (font file key, face index, [glyph ids])
    makeup: tuple = ()  # the makeup passes applied (PartJob.premade's form)


_FONT_CONFIG = []


def _font_config():
    """One font configuration per process: a new one per document loads every face again
    (and WeasyPrint 70 never frees the old ones)."""
    if not _FONT_CONFIG:
        from weasyprint.text.fonts import FontConfiguration
        _FONT_CONFIG.append(FontConfiguration())
    return _FONT_CONFIG[0]


_STYLESHEETS: dict = {}  # (CSS text, roots) -> (weasyprint.CSS, its colour profiles), per process
STYLESHEETS_KEPT = 16


def _stylesheet(css: str, roots: tuple[str, ...], fetcher):
    """A parsed stylesheet, parsed once per process: the theme's pdf.css and the page CSS are
    the same for every part of a book, and parsing them took about a tenth of a second a part
    (cProfile, 100 episodes: 11.6 s of 250)."""
    from weasyprint import CSS
    key = (css, roots)
    if key not in _STYLESHEETS:
        while len(_STYLESHEETS) >= STYLESHEETS_KEPT:
            _STYLESHEETS.pop(next(iter(_STYLESHEETS)))
        profiles: dict = {}
        _STYLESHEETS[key] = CSS(string=css, url_fetcher=fetcher, color_profiles=profiles,
                                font_config=_font_config()), profiles
    return _STYLESHEETS[key]


@dataclass
class _Laid:
    """A part laid out in this process: WeasyPrint's document, the makeup passes applied, and
    what laying it out read (to paint a twin from it, repaint.py)."""
    doc: object
    applied: list
    fetcher: object
    profiles: dict


def _styles(job: PartJob, fetcher) -> tuple[list, dict]:
    """The job's stylesheets (parsed once per process) and the colour profiles they name."""
    parsed = [_stylesheet(css, job.roots, fetcher) for css in job.stylesheets]
    return [css for css, _ in parsed], {name: profile for _, found in parsed for name, profile in found.items()}


def _markup(job: PartJob, passes) -> str:
    markup = job.markup
    for changes in passes:
        markup = makeup.apply(markup, dict(changes))
    return markup


def _lay_out(job: PartJob) -> _Laid:
    from weasyprint import HTML

    from .fetcher import LockedFetcher
    _load_engine()  # Chinese justification and spacing (the stylesheet switches them on), makeup
    fetcher = LockedFetcher([Path(r) for r in job.roots])
    styles, profiles = _styles(job, fetcher)

    def lay_out(markup: str):
        # base_url is a folder with nothing in it: relative references left in a post resolve to nothing
        return HTML(string=markup, base_url="file:///nonexistent/", url_fetcher=fetcher).render(
            stylesheets=styles, color_profiles=profiles, font_config=_font_config())
    # premade: makeup decided on another layout of the same pages (the screen part's)
    markup = _markup(job, job.premade)
    doc = lay_out(markup)
    applied = list(job.premade)
    if job.makeup:  # figures that left a page a third empty: shrunk a little or moved (makeup.py)
        for _ in range(MAKEUP_PASSES):
            done = {change for changes in applied for change in changes}
            # a figure shrunk to the same height again would lay out the same pages again
            changes = {n: c for n, c in makeup.plan(doc).items() if not (c[0] == "shrink" and (n, c) in done)}
            if not changes:
                break
            markup = makeup.apply(markup, changes)
            applied.append(tuple(sorted(changes.items())))
            doc = lay_out(markup)
    return _Laid(doc, applied, fetcher, profiles)


def _write(doc, job: PartJob, out: Path, applied, fonts_folder: Path | None) -> RenderedPart:
    anchors = {name: (i, x, y) for i, page in enumerate(doc.pages) for name, (x, y, *_) in page.anchors.items()}
    links = tuple((i, target, tuple(rect)) for i, page in enumerate(doc.pages)
                  for kind, target, rect, _ in page.links if kind == "internal")
    LEDGER.install()
    LEDGER.active, LEDGER.used, LEDGER.folder = job.defer_fonts, {}, fonts_folder
    try:
        data = doc.write_pdf(**dict(job.options))
    finally:
        LEDGER.active = False
    atomic_write(out, data)
    first = doc.pages[0]
    return RenderedPart(job.name, out, len(doc.pages), (first.width, first.height), anchors, links, dict(LEDGER.used),
                        tuple(applied))


def render_part(job: PartJob, out: Path, fonts_folder: Path | None = None) -> RenderedPart:
    """Lay out one part and write its PDF to `out` (runs in a worker process)."""
    laid = _lay_out(job)
    return _write(laid.doc, job, out, laid.applied, fonts_folder)


class PartCache:
    """Rendered parts on disk: cache/pdf/ab/abcd….pdf with a .json of their page facts;
    the font files they use in cache/fonts/."""

    def __init__(self, cache: Cache):
        self.cache = cache
        self.root = cache.folder("pdf")
        self.fonts = cache.folder("fonts")

    def path(self, key: str, suffix: str = ".pdf") -> Path:
        return self.cache.use(self.root / key[:2] / f"{key}{suffix}")

    def load(self, job: PartJob) -> RenderedPart | None:
        key, pdf = job.key, self.path(job.key)  # both files noted as used even when a worker makes them
        try:
            meta = json.loads(self.path(key, ".json").read_text(encoding="utf-8"))
            if pdf.stat().st_size != meta["bytes"]:
                return None
        except (OSError, ValueError, KeyError):
            return None
        if any(font_file(self.fonts, file_key) is None for file_key, _, _ in meta["fonts"].values()):
            return None
        return RenderedPart(job.name, self.path(key), meta["pages"], tuple(meta["size"]),
                            {k: tuple(v) for k, v in meta["anchors"].items()},
                            tuple((i, t, tuple(r)) for i, t, r in meta["links"]), meta["fonts"],
                            tuple(tuple((n, tuple(c)) for n, c in changes) for changes in meta.get("makeup", ())))

    def render(self, job: PartJob) -> RenderedPart:
        return self._keep(render_part(job, self.path(job.key), self.fonts), job)

    def _keep(self, part: RenderedPart, job: PartJob) -> RenderedPart:
        meta = {"pages": part.pages, "size": part.size, "anchors": part.anchors, "links": part.links,
                "fonts": part.fonts, "makeup": part.makeup, "bytes": part.path.stat().st_size}
        atomic_write(self.path(job.key, ".json"), json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        return part

    def render_with_twin(self, job: PartJob, twin: PartJob | None) -> RenderedPart:
        """The part; and its twin (the press part of a screen part: the same pages painted
        otherwise) painted from the same layout (repaint.py), or laid out itself where its
        pages would differ. Both are kept under their own keys; the twin starts from the
        part's makeup, as the press build would ask for it."""
        if twin is None:
            return self.render(job)
        laid = _lay_out(job)
        part = self._keep(_write(laid.doc, job, self.path(job.key), laid.applied, self.fonts), job)
        twin = replace(twin, premade=part.makeup)
        if self.load(twin) is None:
            from .repaint import Mismatch, repaint
            styles, profiles = _styles(twin, laid.fetcher)
            try:
                doc = repaint(laid.doc, _markup(twin, twin.premade), styles, laid.fetcher, _font_config(),
                              {**laid.profiles, **profiles})
            except Mismatch:
                self.render(twin)
            else:
                self._keep(_write(doc, twin, self.path(twin.key), part.makeup, self.fonts), twin)
        return part


def render_all(jobs: list[PartJob], store: PartCache, workers: int, progress=None,
               isolate: bool = False, stage: str = "pdf pages", twins: dict | None = None) -> list[RenderedPart]:
    """Every part, from the cache when unchanged, else laid out in `workers` processes
    (`isolate`: in another process even when there is one, to keep this one small); how many
    of each is added to the cache's `layouts` tally. `twins`: part name -> a part with the
    same pages painted otherwise, made from the same layout when the part is laid out."""
    results: dict[int, RenderedPart] = {}
    missing = []
    for index, job in enumerate(jobs):
        part = store.load(job)
        if part is None:
            missing.append(index)
        else:
            results[index] = part
    store.cache.layouts.update(laid_out=len(missing), cached=len(results))

    def twin_of(job: PartJob) -> PartJob | None:
        return (twins or {}).get(job.name)

    def tick():
        if progress:
            progress(stage, len(results), len(jobs))
    tick()
    # the longest parts first, so that no worker is left with a long one when the others are done
    missing.sort(key=lambda i: -len(jobs[i].markup))
    if missing and (_EARLY or len(missing) > 1 and workers > 1 or isolate):  # in other processes
        with _pool(workers, len(missing)) as pool:
            for index, part in zip(missing, pool.map(store.render_with_twin, [jobs[i] for i in missing],
                                                     [twin_of(jobs[i]) for i in missing])):
                results[index] = part
                tick()
    else:
        for index in missing:
            results[index] = store.render_with_twin(jobs[index], twin_of(jobs[index]))
            tick()
    return [results[i] for i in range(len(jobs))]


_EARLY: list["_EarlyWorker"] = []  # the layout process of the build under way (early_pool)
LAID_OUT = frozenset({"pdf", "print", "cover", "handouts"})  # the formats whose parts are laid out here


def wants_early_pool(formats, jobs: int | None) -> bool:
    """Is the early layout process worth starting for a build of `formats` in `jobs` processes
    (one process lays its parts out itself)?"""
    return bool(LAID_OUT & set(formats)) and (jobs or default_workers()) > 1


@contextlib.contextmanager
def early_pool():
    """A layout process started as a build begins: it imports WeasyPrint (half a second) while
    this process prepares the book, and lays out a build's lone missing part (an edited
    episode, the front matter when pages moved): this process then never imports WeasyPrint.
    After an edit that was a fifth of rebuilding a 100-episode book. Many missing parts go to a
    pool forked for them, as before. A build with nothing to lay out does not wait for it.
    Entered again (the command started one before the build did), the running one serves."""
    if _EARLY:
        yield
        return
    try:
        worker = _EarlyWorker()
    except OSError:  # no process to spare (a limit on processes or memory): parts are laid out as before
        yield
        return
    _EARLY.append(worker)
    try:
        yield
    finally:
        _EARLY.remove(worker)
        worker.close()


class _EarlyWorker:
    """One forked layout process and a pipe to it: `map` as a pool's, one job at a time. Not a
    ProcessPoolExecutor, which waits at shutdown for a worker still importing WeasyPrint
    (0.5 s more for a build that laid out nothing); this one is stopped at once."""

    def __init__(self):
        context = multiprocessing.get_context("fork")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def map(self, function, *iterables):
        for args in zip(*iterables):
            self.connection.send((function, args))
            try:
                ok, value = self.connection.recv()
            except EOFError:
                raise RuntimeError(f"the layout process ended (exit code {self.process.exitcode})") from None
            if not ok:
                raise value
            yield value

    def close(self) -> None:
        self.process.terminate()  # idle, or still importing WeasyPrint: nothing to wait for
        self.process.join()
        self.connection.close()


def _serve(connection) -> None:
    """The early layout process: load the engine, then run what is sent until the pipe closes."""
    _worker_start()
    while True:
        try:
            function, args = connection.recv()
        except EOFError:
            return
        try:
            connection.send((True, function(*args)))
        except Exception as exc:  # sent back whole when it pickles, else by its message
            try:
                connection.send((False, exc))
            except Exception:
                connection.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


@contextlib.contextmanager
def _pool(workers: int, jobs: int):
    """The build's early process for a lone part; else a pool for these jobs, forked after
    WeasyPrint is imported here, so that its workers share it."""
    if _EARLY and (jobs == 1 or workers == 1):
        yield _EARLY[-1]
        return
    _load_engine()
    with ProcessPoolExecutor(max_workers=max(1, min(workers, jobs)), mp_context=multiprocessing.get_context("fork"),
                             initializer=_worker_start) as pool:
        yield pool


def _load_engine() -> None:
    """WeasyPrint imported, and the justification installed, before a pool forks: importing
    WeasyPrint takes about a second, which every worker (and the front matter's process, and
    the next format's pool) would otherwise spend again."""
    from .justify import install
    install()
    makeup.install()
    keep_font_programs()


GC_THRESHOLD = (50_000, 20, 100)


def _worker_start() -> None:
    """A layout worker loads the engine (at once, when it was forked before WeasyPrint was
    imported: the early pool's), leaves what it has then out of its garbage collector's sweeps
    (which would also copy those pages from its parent) and collects less often: WeasyPrint makes
    millions of short-lived objects, and the default threshold (700) sweeps the young ones every
    few lines (together measured: 3-4% of a part's time)."""
    _load_engine()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
