"""The recipe of a build: manifest -> sources -> episodes -> images -> book -> files -> report.

    load_manifest   series.toml -> Manifest
    read_source     each episode file -> SourceEpisode
    normalize       SourceEpisode -> Episode (clean XHTML, sections)
    (edition)       Episode -> Episode, Manifest -> Manifest in Traditional Chinese (--edition)
    localize        every image URL -> cached image, or the reason it failed
    build_book      Manifest + Episodes + images -> Book
    BACKENDS        Book -> EPUB, PDF (screen, press), handouts
    write_report    what happened -> OUTDIR/report.json
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .book import Book, build_book
from .editions import convert_episodes, convert_manifest, edition_theme, find_edition
from .errors import Problem, PublisherError
from .images import Localized, localize
from .images.cache import ImageCache
from .manifest import Manifest, load_manifest, slugify
from .normalize import Episode, normalize
from .normalize.store import EpisodeStore
from .report import ImageFailure, Report, Timings, write_report
from .sources import SourceEpisode, order_sources, read_source
from .themes import Theme, load_theme

DEFAULT_FORMATS = ("epub", "pdf")


@dataclass(frozen=True)
class BuildOptions:
    formats: tuple[str, ...] = DEFAULT_FORMATS
    outdir: Path | None = None
    strict: bool = False
    offline: bool = False
    cache_root: Path | None = None
    jobs: int | None = None  # processes laying out PDF pages; default: the cores this process may use
    edition: str = ""  # a Traditional Chinese edition (zh-TW, zh-HK, zh-Hant; editions.py); "": as written


class StrictFailure(PublisherError):
    category = "strict"


def fail_on_warnings(warnings, where: Path) -> None:
    """--strict: any warning fails the build, with every warning listed on the one line."""
    if warnings:
        listed = "; ".join(str(w) for w in warnings[:20]) + (f"; … and {len(warnings) - 20} more" if len(warnings) > 20 else "")
        raise StrictFailure(f"--strict: {len(warnings)} warning(s): {listed}", where)


def build_time(sources: list[Path]) -> dt.datetime:
    """SOURCE_DATE_EPOCH when set; else when the sources last changed (so building unchanged
    sources again gives the same bytes); UTC, whole seconds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc)
    newest = max((p.stat().st_mtime for p in sources if p.exists()), default=0) or dt.datetime.now().timestamp()
    return dt.datetime.fromtimestamp(int(newest), dt.timezone.utc)


def load_episodes(manifest: Manifest, timings: Timings, store: EpisodeStore | None = None) -> list[Episode]:
    """Read, order and normalize the episodes; normalized ones come from `store` when unchanged."""
    with timings("parse"):
        sources = order_sources([read_source(path) for path in manifest.episodes], manifest.order)
    episodes = []
    with timings("normalize"):
        for source, key in zip(sources, episode_keys(sources)):
            args = (manifest.images.unwrap, manifest.language)
            digest = EpisodeStore.key(source, key, *args) if store else ""
            episode = store.load(digest) if store else None
            if episode is None:
                episode = normalize(source, key, *args)
                if store:
                    store.save(digest, episode)
            episodes.append(episode)
    return episodes


def episode_keys(sources: list[SourceEpisode]) -> list[str]:
    """Each episode's id in the book (a valid XML id prefix), made from what the post says and
    never from where it stands: inserting, removing or reordering episodes leaves the others'
    keys, and so their cached normalization and layout, alone. Identical posts are told apart
    by a suffix in reading order."""
    keys, seen = [], {}
    for s in sources:
        said = [s.title, s.body, s.headimg, str(s.date), s.author, list(s.categories), s.lang, s.number]
        key = "e" + hashlib.sha256(json.dumps(said, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()[:10]
        seen[key] = seen.get(key, 0) + 1
        keys.append(key if seen[key] == 1 else f"{key}x{seen[key]}")
    return keys


def survey(series: Path) -> tuple[Manifest, list[Episode], list[Problem]]:
    """What a build would put in the book, and what looks wrong, without building it
    (the same warnings a build reports, less the images')."""
    manifest = load_manifest(series)
    episodes = load_episodes(manifest, Timings())
    return manifest, episodes, [w for e in episodes for w in e.warnings]


def cache_uses(series: list[Path], cache: ImageCache) -> set[Path]:
    """The cache entries builds of these series need: what their recorded builds used, and
    (for a series never built with this cache) its normalized episodes and images."""
    keep: set[Path] = set()
    for folder in series:
        manifest = load_manifest(folder)
        episodes = load_episodes(manifest, Timings(), EpisodeStore(cache))
        for url in dict.fromkeys(u for e in episodes for u in e.image_urls):
            cache.lookup(url)
        keep |= cache.remembered(manifest.path)
    return keep | cache.used


def build_handout(post: Path, output: Path, offline: bool = False, cache_root: Path | None = None) -> Report:
    """One post -> one A4 handout, no series needed (default settings)."""
    timings = Timings()
    with timings("parse"):
        source = read_source(post)
    series_title = source.title.split("#")[0].strip() if "#" in source.title else (source.categories[:1] or ("",))[0]
    manifest = Manifest(path=Path(post).resolve().with_name("series.toml"), title=series_title or source.title,
                        episodes=(Path(post).resolve(),))
    with timings("normalize"):
        episode = normalize(source, "e001", manifest.images.unwrap, manifest.language)
    cache = ImageCache(cache_root)
    with timings("images"):
        localized = localize(episode.image_urls, manifest.images, cache, offline=offline)
    book = build_book(manifest, [episode], localized, build_time([Path(post)]))
    from .render.handouts import write_handouts
    output.parent.mkdir(parents=True, exist_ok=True)
    with timings("handouts"):
        write_handouts(book, [(book.chapters[0], output)], load_theme("default"), cache, workers=1)
    failures = image_failures([episode], localized)
    return _report(manifest, (output,), localized, failures, problems([episode], failures), timings)


def image_failures(episodes: list[Episode], localized: Localized) -> tuple[ImageFailure, ...]:
    return tuple(ImageFailure(url, str(e.source.path), localized.failed[url])
                 for e in episodes for url in e.image_urls if url in localized.failed)


def problems(episodes: list[Episode], failures: tuple[ImageFailure, ...]) -> list[Problem]:
    """The warnings of a build so far: the episodes' own, then each image that failed (with the
    line of its post that names it, when the URL is written there as such)."""
    sources = {str(e.source.path): e.source for e in episodes}
    return [w for e in episodes for w in e.warnings] + [
        Problem("image", f"image not available: {f.url} ({f.reason})", f.episode,
                sources[f.episode].line_of(f.url) if f.episode in sources else None) for f in failures]


def _report(manifest: Manifest, outputs, localized: Localized, failures, warnings, timings: Timings) -> Report:
    return Report(series=manifest.title, outputs=tuple(outputs), fetched=localized.count("fetched"),
                  cached=len(localized.images) - localized.count("fetched"),
                  images_total=len(localized.images) + len(localized.failed), failed=failures,
                  warnings=tuple(warnings), timings=dict(timings.stages))


@dataclass(frozen=True)
class Prepared:
    """A series read and put together into a Book, before any format is written."""

    manifest: Manifest
    book: Book
    theme: Theme
    cache: ImageCache
    localized: Localized
    failures: tuple[ImageFailure, ...]
    warnings: tuple[Problem, ...]


def prepare(series: Path, options: BuildOptions, timings: Timings,
            progress: Callable[[str, int, int], None] | None = None) -> Prepared:
    """series.toml and its episodes -> the Book every backend renders (and the build's warnings)."""
    manifest = load_manifest(series)
    cache = ImageCache(options.cache_root)
    episodes = load_episodes(manifest, timings, EpisodeStore(cache))
    edition = find_edition(manifest, options.edition) if options.edition else None
    if edition:
        with timings("edition"):
            episodes = convert_episodes(episodes, edition, EpisodeStore(cache))
            manifest = convert_manifest(manifest, edition)
    urls = list(dict.fromkeys(u for e in episodes for u in e.image_urls))
    done = [0]

    def tick():
        done[0] += 1
        if progress:
            progress("images", done[0], len(urls))

    with timings("images"):
        localized = localize(urls, manifest.images, cache, offline=options.offline, progress=tick)
    failures = image_failures(episodes, localized)
    if options.strict:
        fail_on_warnings(problems(episodes, failures), manifest.path)
    with timings("book"):
        sources = [manifest.path, *manifest.episodes] + ([manifest.cover] if manifest.cover else [])
        book = build_book(manifest, episodes, localized, build_time(sources))
        theme = load_theme(manifest.theme, manifest.root)
        theme = edition_theme(theme, edition) if edition else theme
    return Prepared(manifest, book, theme, cache, localized, failures, tuple(problems(episodes, failures)))


def build(series: Path, options: BuildOptions, progress: Callable[[str, int, int], None] | None = None) -> Report:
    from .render.parts import early_pool, wants_early_pool
    # PDF parts are laid out in other processes: one starts now, and imports WeasyPrint while the book is prepared
    with early_pool() if wants_early_pool(options.formats, options.jobs) else contextlib.nullcontext():
        return _build(series, options, progress)


def _build(series: Path, options: BuildOptions, progress: Callable[[str, int, int], None] | None) -> Report:
    timings = Timings()
    prepared = prepare(series, options, timings, progress)
    manifest, book, theme, cache = prepared.manifest, prepared.book, prepared.theme, prepared.cache
    outdir = Path(options.outdir) if options.outdir else Path("output") / manifest.slug
    warnings = list(prepared.warnings)
    outdir.mkdir(parents=True, exist_ok=True)
    written_as: dict[str, list[Path]] = {}
    layouts: dict[str, dict[str, int]] = {}
    # the screen PDF before the press file (whose parts it paints), the EPUB last (it takes the PDF's page list)
    for fmt in sorted(options.formats, key=lambda f: (f == "epub", f != "pdf")):
        if progress and fmt != "handouts":
            progress(fmt, 0, 1)
        before = dict(cache.layouts)
        with timings(fmt):
            written, noticed, pages = BACKENDS[fmt](book, outdir, theme, cache, options, progress)
        laid = {k: cache.layouts[k] - before.get(k, 0) for k in ("laid_out", "cached")}
        if any(laid.values()):  # the PDF parts this format laid out, and those found in the cache
            layouts[fmt] = laid
        if pages is not None and (book.print_pages is None or fmt == "pdf"):  # the screen PDF's, if built
            book = replace(book, print_pages=pages)
        if progress and fmt != "handouts":
            progress(fmt, 1, 1)
        written_as[fmt] = written
        warnings += noticed
    outputs = [path for fmt in options.formats for path in written_as[fmt]]  # in the order asked for
    report = replace(_report(manifest, outputs, prepared.localized, prepared.failures, warnings, timings),
                     layouts=layouts)
    write_report(report, outdir)
    # what `publisher cache prune` keeps for this series; an edition's record beside the series' own
    cache.remember(manifest.path, tuple(fmt + manifest.edition_suffix for fmt in options.formats))
    if options.strict:  # the backends' warnings (e.g. low resolution) too; report.json lists them
        fail_on_warnings(report.warnings, manifest.path)
    return report


# Backends import their engines when used: WeasyPrint alone takes 0.4 s to import. Each returns
# the files written, its warnings, and where the print edition's pages begin (PDFs) or None.
def _epub(book: Book, outdir: Path, theme: Theme, cache: ImageCache, options: BuildOptions, progress):
    from .render.epub import write_epub
    path = outdir / f"{book.manifest.slug}{book.manifest.edition_suffix}.epub"
    write_epub(book, path, theme, cache)
    return [path], [], None


def _pdf(book: Book, outdir: Path, theme: Theme, cache: ImageCache, options: BuildOptions, progress):
    from .render.pdf import write_book_pdf
    path = outdir / f"{book.manifest.slug}{book.manifest.edition_suffix}.pdf"
    # the press file's parts painted from the screen parts' layout when this build makes it too
    twins = bool({"print", "cover"} & set(options.formats))
    return [path], *write_book_pdf(book, path, theme, cache, press=False, workers=options.jobs, progress=progress,
                                   press_twins=twins)


def _print(book: Book, outdir: Path, theme: Theme, cache: ImageCache, options: BuildOptions, progress):
    from .render.pdf import write_book_pdf
    path = outdir / f"{book.manifest.slug}{book.manifest.edition_suffix}-print.pdf"
    return [path], *write_book_pdf(book, path, theme, cache, press=True, workers=options.jobs, progress=progress)


def _cover(book: Book, outdir: Path, theme: Theme, cache: ImageCache, options: BuildOptions, progress):
    from .render.pdf import press_page_count
    from .render.wrapcover import write_wrap_cover
    stem = outdir / f"{book.manifest.slug}{book.manifest.edition_suffix}-cover"
    pages = press_page_count(book, theme, cache, workers=options.jobs, progress=progress)
    write_wrap_cover(book, stem.with_suffix(".pdf"), stem.with_suffix(".png"), theme, cache, pages)
    return [stem.with_suffix(".pdf"), stem.with_suffix(".png")], [], None


def _handouts(book: Book, outdir: Path, theme: Theme, cache: ImageCache, options: BuildOptions, progress):
    from .render.handouts import write_handouts
    folder = outdir / f"handouts{book.manifest.edition_suffix}"
    paths = [folder / f"{i:03d}-{slugify(c.title)[:40]}.pdf" for i, c in enumerate(book.chapters, 1)]
    folder.mkdir(parents=True, exist_ok=True)
    write_handouts(book, list(zip(book.chapters, paths)), theme, cache, options.jobs, progress)
    return paths, [], None


BACKENDS = {"epub": _epub, "pdf": _pdf, "print": _print, "cover": _cover, "handouts": _handouts}
FORMATS = tuple(BACKENDS)
