"""The command line: parse arguments, call the library, map the outcome to output and an exit
code (0 success, 1 build or check failed, 2 usage error).

Shell completion comes from click: `eval "$(_PUBLISHER_COMPLETE=bash_source publisher)"`.
"""
from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .editions import UnknownEdition
from .errors import PublisherError
from .pipeline import DEFAULT_FORMATS, FORMATS, BuildOptions, build
from .progress import ProgressDisplay


class _Group(click.Group):
    """Expected failures print one line and exit 1; anything else too, unless --debug."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PublisherError as exc:
            _fail(ctx, str(exc))
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - never a traceback for the user without --debug
            _fail(ctx, f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)")


def _fail(ctx, message: str):
    if ctx.obj and ctx.obj.get("debug"):
        traceback.print_exc()
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="publisher")
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
@click.pass_context
def main(ctx, debug):
    """Turn a series of web articles into an EPUB, a PDF book and handouts.

    \b
    Example:
      publisher new stories --from source/_posts --match '^产品故事#'
      publisher list stories
      publisher build stories -f epub -f pdf -f print -f handouts
    """
    ctx.obj = {"debug": debug}


@main.command("build")
@click.argument("series", type=click.Path(path_type=Path))
@click.option("-f", "--format", "formats", multiple=True, type=click.Choice(FORMATS),
              help="What to make (repeatable; default: epub and pdf).")
@click.option("-o", "--output", "outdir", type=click.Path(path_type=Path), help="Output folder (default output/<series>/).")
@click.option("--strict", is_flag=True, help="Fail on any warning (a missing image, an unreadable date, a duplicate number …), listing them.")
@click.option("--offline", is_flag=True, help="Use cached images only; make no request.")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Processes laying out PDF pages (default: one per core).")
@click.option("--edition", metavar="NAME", default="",
              help="A Traditional Chinese edition: zh-TW, zh-HK, zh-Hant or one of series.toml's [editions.NAME].")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@click.option("-v", "--verbose", is_flag=True, help="List every warning.")
def build_command(series, formats, outdir, strict, offline, jobs, edition, quiet, verbose):
    """Build a series (a folder holding series.toml, or the file itself).

    \b
    Example:
      publisher build series/product-stories -f epub -f pdf -f handouts -o out/
      publisher build series/product-stories --edition zh-TW
    """
    options = BuildOptions(formats=tuple(dict.fromkeys(formats)) or DEFAULT_FORMATS, outdir=outdir, strict=strict,
                           offline=offline, jobs=jobs, edition=edition)
    try:
        with ProgressDisplay(quiet) as display:
            report = build(series, options, progress=display.update)
    except UnknownEdition as exc:
        raise click.BadParameter(str(exc), param_hint="--edition") from None
    if not quiet:
        _summary(report, verbose)


def _summary(report, verbose: bool) -> None:
    for path in report.outputs:
        click.echo(f"wrote {path}")
    images = f"{report.images_total} images ({report.fetched} fetched, {report.cached} from cache"
    images += f", {len(report.failed)} missing)" if report.failed else ")"
    timing = sum(report.timings.values())
    # report.json sits in the output folder: the handouts' own folder is one below it
    folders = [p.parent.parent if p.parent.name.startswith("handouts") else p.parent for p in report.outputs]
    click.echo(f"{images}; {len(report.warnings)} warning(s); {timing:.1f}s; details in "
               f"{min(folders, key=lambda f: len(f.parts)) if folders else '.'}/report.json")
    if report.layouts:
        click.echo("pages laid out: " + "; ".join(f"{fmt} {n['laid_out']} part(s), {n['cached']} from cache"
                                                  for fmt, n in report.layouts.items()))
    for warning in report.warnings if verbose else report.warnings[:5]:
        click.echo(f"warning: {warning}")
    if not verbose and len(report.warnings) > 5:
        click.echo(f"… and {len(report.warnings) - 5} more (use -v)")


@main.command("new")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--from", "posts", required=True, type=click.Path(path_type=Path), help="A folder of posts (e.g. source/_posts).")
@click.option("--match", required=True, help="A regular expression the titles must match, e.g. '^产品故事#'.")
@click.option("--title", help="The series title (default: what precedes '#' in the titles).")
def new_command(directory, posts, match, title):
    """Scaffold a series from the posts whose titles match.

    \b
    Example:
      publisher new stories --from ~/blog/source/_posts --match '^产品故事#'
    """
    from .scaffold import new_series
    result = new_series(directory, posts, match, title)
    for source in result.episodes:
        click.echo(f"  {source.number if source.number is not None else '-':>4}  {source.title}")
    click.echo(f"wrote {result.manifest} with {len(result.episodes)} episode(s)")
    for problem in result.skipped:
        click.echo(f"skipped: {problem}", err=True)


@main.command("list")
@click.argument("series", type=click.Path(path_type=Path))
def list_command(series):
    """Show the episodes in book order with their sections, and what looks wrong.

    \b
    Example:
      publisher list series/product-stories
    """
    from .pipeline import survey
    manifest, episodes, warnings = survey(series)
    click.echo(f"{manifest.title}: {len(episodes)} episode(s), order = {manifest.order}")
    from .titles import parse_title
    for e in episodes:
        title = parse_title(e.title, manifest.title, manifest.titles.pattern, e.source.number,
                            e.source.subtitle, e.source.short_title)
        number = title.number if title.number is not None else "-"
        date = e.source.date.strftime("%Y-%m-%d") if e.source.date else "----------"
        click.echo(f"{number:>4}  {date}  {title.title}  ({e.author or 'no author'})")
        if title.subtitle:
            click.echo(f"          subtitle: {title.subtitle}")
        if title.short != title.title:
            click.echo(f"          running head: {title.short}")
        for section in e.sections:
            click.echo(f"          {section.title}")
            for sub in section.children:
                click.echo(f"            {sub.title}")
    for warning in warnings:
        click.echo(f"warning: {warning}")


@main.command("handout")
@click.argument("post", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path), help="The PDF to write (default: POST with .pdf).")
@click.option("--offline", is_flag=True, help="Use cached images only; make no request.")
def handout_command(post, output, offline):
    """Turn one post into an A4 handout; no series needed.

    \b
    Example:
      publisher handout source/_posts/产品故事#003.md -o 003.pdf
    """
    from .pipeline import build_handout
    report = build_handout(post, output or post.with_suffix(".pdf"), offline=offline)
    click.echo(f"wrote {report.outputs[0]}")
    for warning in report.warnings:
        click.echo(f"warning: {warning}")


@main.command("serve")
@click.argument("series", type=click.Path(path_type=Path))
@click.option("-p", "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="Port (0: any free one).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback lets others on your network read the preview.")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in the default browser.")
@click.option("--offline", is_flag=True, help="Use cached images only; make no request.")
@click.option("--edition", metavar="NAME", default="", help="Preview a Traditional Chinese edition (as build --edition).")
def serve_command(series, port, host, open_browser, offline, edition):
    """Preview the book in a browser while you edit: rebuilt and reloaded on every save.

    \b
    Example:
      publisher serve series/product-stories --open
    """
    from .serve import serve
    sys.exit(serve(series, host, port, open_browser, BuildOptions(offline=offline, edition=edition), echo=click.echo))


@main.command("images")
@click.argument("series", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--prefetch", is_flag=True, help="Fetch every image into the cache now.")
@click.option("--prune", is_flag=True, help="Drop cache entries that none of the given series uses.")
def images_command(series, prefetch, prune):
    """Show every image of a series and its state; fill or prune the cache.

    \b
    Example:
      publisher images series/product-stories --prefetch
    """
    from .images import image_state, localize
    from .images import prune as prune_cache
    from .images.cache import ImageCache
    from .pipeline import survey
    cache, keep = ImageCache(), set()
    for folder in series:
        manifest, episodes, _ = survey(folder)
        urls = list(dict.fromkeys(u for e in episodes for u in e.image_urls))
        keep |= set(urls)
        failed = localize(urls, manifest.images, cache).failed if prefetch else {}
        counts: dict[str, int] = {}
        for e in episodes:
            click.echo(f"{e.title}")
            for url in e.image_urls:
                state = f"failed: {failed[url]}" if url in failed else image_state(url, manifest.images, cache)
                counts[state.split(":")[0]] = counts.get(state.split(":")[0], 0) + 1
                click.echo(f"  {state:<22} {url if len(url) < 160 else url[:150] + '…'}")
        click.echo(f"{manifest.title}: {len(urls)} distinct image(s): "
                   + ", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    if prune:
        dropped, freed = prune_cache(cache, keep)
        click.echo(f"pruned {dropped} cache entr{'y' if dropped == 1 else 'ies'}, freed {freed / 2**20:.1f} MB")


@main.group("cache")
def cache_group():
    """Where the cache is and what it holds; keep only what some series use; empty it.

    \b
    Example:
      publisher cache info
      publisher cache prune series/product-stories series/other
      publisher cache clear
    """


@cache_group.command("info")
def cache_info_command():
    """The cache folder and its size by kind (images, derived, episodes, layouts, fonts)."""
    from .cache import Cache, info
    cache = Cache()
    sizes = info(cache)
    click.echo(f"cache: {cache.root}")
    for size in sizes:
        click.echo(f"  {size.kind:<9} {size.files:>7} file(s) {size.bytes / 2**20:>9.1f} MB")
    click.echo(f"  {'total':<9} {sum(s.files for s in sizes):>7} file(s) {sum(s.bytes for s in sizes) / 2**20:>9.1f} MB")


@cache_group.command("prune")
@click.argument("series", nargs=-1, required=True, type=click.Path(path_type=Path))
def cache_prune_command(series):
    """Keep what the given series use (every kind) and drop the rest.

    \b
    Example:
      publisher cache prune series/product-stories
    """
    from .cache import prune
    from .images.cache import ImageCache
    from .pipeline import cache_uses
    cache = ImageCache()
    removed, freed = prune(cache, cache_uses(list(series), cache))
    click.echo(f"pruned {removed} file(s), freed {freed / 2**20:.1f} MB from {cache.root}")


@cache_group.command("clear")
def cache_clear_command():
    """Empty the cache (the next build fetches and lays out everything again)."""
    from .cache import Cache, clear
    cache = Cache()
    click.echo(f"cleared {cache.root}, freed {clear(cache) / 2**20:.1f} MB")


@main.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--press", is_flag=True, default=None,
              help="Preflight a PDF as a press file (colour, ink, boxes, slug, signatures); "
                   "automatic for *-print.pdf.")
@click.option("--max-ink", type=click.IntRange(200, 400), default=300, show_default=True, help="Press: total ink, percent.")
@click.option("--min-ppi", type=click.IntRange(50, 2400), default=300, show_default=True,
              help="Press: warn about images under this resolution.")
@click.option("--pages-multiple", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Press: the page count must be a multiple of this (signatures).")
@click.option("--strict", is_flag=True, help="Press: warnings (low resolution) fail the check too.")
@click.option("--no-ace", is_flag=True, help="EPUB: skip DAISY Ace (accessibility), run EPUBCheck only.")
def check_command(file, press, max_ink, min_ppi, pages_multiple, strict, no_ace):
    """Validate an EPUB with EPUBCheck and DAISY Ace, or preflight a PDF (fonts, boxes, bookmarks, labels;
    a press file also for colour, ink, slug and signatures).

    \b
    Example:
      publisher check output/product-stories/product-stories.epub
      publisher check --press output/product-stories/product-stories-print.pdf
    """
    from .check import check_file
    from .preflight import PressLimits
    result = check_file(file, press, PressLimits(max_ink=max_ink, min_ppi=min_ppi, pages_multiple=pages_multiple),
                        strict, ace=not no_ace)
    for note in result.notes:
        click.echo(note)
    for problem in result.problems:
        click.echo(f"problem: {problem}")
    click.echo(f"{file}: {'OK' if result.ok else f'{len(result.problems)} problem(s)'}")
    sys.exit(0 if result.ok else 1)


@main.command("doctor")
def doctor_command():
    """Check this machine: CJK fonts, HarfBuzz, Java and EPUBCheck, engines, cache folder.

    \b
    Example:
      publisher doctor
    """
    from .doctor import diagnose
    findings = diagnose()
    for f in findings:
        click.echo(f"{'ok ' if f.ok else 'BAD'}  {f.name}: {f.detail}")
        if f.fix:
            click.echo(f"     fix: {f.fix}")
    sys.exit(0 if all(f.ok for f in findings) else 1)
