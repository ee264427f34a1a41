"""The command line: parse arguments, call the library, map the outcome to output and an exit
code (0 success, 1 build or check failed, 2 usage error)."""
from __future__ import annotations

import sys
import traceback
from pathlib import Path

import click

from . import __version__
from .errors import PublisherError
from .pipeline import DEFAULT_FORMATS, FORMATS, BuildOptions, build


class _Group(click.Group):
    """Expected failures print one line and exit 1; anything else too, unless --debug."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except PublisherError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - never a traceback for the user without --debug
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            click.echo(f"error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", err=True)
            sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="publisher")
@click.option("--debug", is_flag=True, help="Show a traceback when something fails.")
@click.pass_context
def main(ctx, debug):
    """Turn a series of web articles into an EPUB, a PDF book and handouts.

    \b
    Example:
      publisher build series/product-stories -f epub -f pdf
    """
    ctx.obj = {"debug": debug}


@main.command("build")
@click.argument("series", type=click.Path(path_type=Path))
@click.option("-f", "--format", "formats", multiple=True, type=click.Choice(FORMATS),
              help=f"What to make (repeatable; default: {' and '.join(DEFAULT_FORMATS)}).")
@click.option("-o", "--output", "outdir", type=click.Path(path_type=Path), help="Output folder (default output/<series>/).")
@click.option("--strict", is_flag=True, help="Fail when an image cannot be had.")
@click.option("--offline", is_flag=True, help="Use cached images only; make no request.")
def build_command(series, formats, outdir, strict, offline):
    """Build a series (a folder holding series.toml, or the file itself).

    \b
    Example:
      publisher build series/product-stories -f epub -f pdf -f handouts -o out/
    """
    report = build(series, BuildOptions(formats=tuple(dict.fromkeys(formats)) or DEFAULT_FORMATS,
                                        outdir=outdir, strict=strict, offline=offline))
    for path in report.outputs:
        click.echo(f"wrote {path}")
    click.echo(f"{len(report.warnings)} warning(s), {len(report.failed)} image(s) missing; see report.json")
