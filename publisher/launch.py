"""The `publisher` command as installed: argv -> the command (cli.py), with a PDF build's
early layout process forked before the command's own modules load.

`render.parts.early_pool` forks a process that imports WeasyPrint (half a second) while the
book is prepared; forked here, before click, Jinja2, lxml and the pipeline are imported (0.2 s),
it is ready that much sooner, which is a tenth of rebuilding a book after an edit. The command
line is only glanced at for that: a wrong guess starts a process for nothing or leaves it to the
pipeline to start one, and never changes what the build does.
"""
from __future__ import annotations

import contextlib
import gc
import sys

def run() -> None:
    from .render.parts import early_pool
    with early_pool() if _builds_pdf(sys.argv[1:]) else contextlib.nullcontext():
        from .cli import main
        try:
            main()
        finally:
            # what the command made stays until the process exits: left to the collector, its
            # last sweep over a build's millions of layout objects took 0.2 s after the book
            # was written. In-process callers (tests) call cli.main and keep collecting.
            gc.freeze()


def _builds_pdf(args: list[str]) -> bool:
    """Does this command line ask `build` for PDF parts laid out in other processes (the rule
    pipeline.build applies: parts.wants_early_pool)?"""
    from .render.parts import wants_early_pool
    if not args or args[0] != "build" or "--help" in args:
        return False
    formats, jobs, rest = [], None, iter(args[1:])
    for arg in rest:
        if arg in ("-f", "--format"):
            formats.append(next(rest, ""))
        elif arg.startswith("--format="):
            formats.append(arg.partition("=")[2])
        elif arg.startswith("-f") and not arg.startswith("--"):
            formats.append(arg[2:])
        elif arg in ("-j", "--jobs"):
            jobs = next(rest, "")
        elif arg.startswith("--jobs="):
            jobs = arg.partition("=")[2]
    # no -f: the default formats, which include the PDF (pipeline.DEFAULT_FORMATS)
    return wants_early_pool(formats or ("pdf",), int(jobs) if jobs and jobs.isdigit() else None)
