"""Build progress for people: a live bar on a terminal (rich), plain lines in logs, nothing
when quiet. The pipeline reports `(stage, done, total)`; this turns that into output."""
from __future__ import annotations

import sys

import click

STAGE_NAMES = {"images": "images", "epub": "EPUB", "pdf": "PDF", "print": "print PDF", "handouts": "handouts",
               "pdf pages": "laying out"}


class ProgressDisplay:
    def __init__(self, quiet: bool = False, stream=None):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = not quiet and self.stream.isatty()
        self.tasks: dict[str, int] = {}
        self.reported: set[str] = set()
        self.progress = None

    def __enter__(self):
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
            self.progress = Progress(TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), console=Console(file=self.stream), transient=False)
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()

    def update(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        name = STAGE_NAMES.get(stage, stage)
        if self.progress is not None:
            if stage not in self.tasks:
                self.tasks[stage] = self.progress.add_task(name, total=total)
            self.progress.update(self.tasks[stage], completed=done, total=total)
        elif done >= total and stage not in self.reported:
            self.reported.add(stage)
            click.echo(f"{name}: {done}/{total}", file=self.stream)
