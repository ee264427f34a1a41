"""One exception base for expected failures, and the warning record of a build.

A `PublisherError` is a failure the user can act on: the CLI prints it as one line
(`path:line: message`) and exits 1. A `Problem` is something recoverable that goes into the
build report; `--strict` turns problems into a failure.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file and, when known, a 1-based line."""

    path: Path | str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else str(self.path)


class PublisherError(Exception):
    """An expected failure; `category` groups them (manifest, source, image, render, check)."""

    category = "build"

    def __init__(self, message: str, where: Location | Path | str | None = None, line: int | None = None):
        super().__init__(message)
        if where is not None and not isinstance(where, Location):
            where = Location(where, line)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ManifestError(PublisherError):
    category = "manifest"

    def __init__(self, problems: list[str] | str, where=None, line=None):
        problems = [problems] if isinstance(problems, str) else problems
        super().__init__("; ".join(problems), where, line)
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(self.problems)


class SourceError(PublisherError):
    category = "source"


class CheckError(PublisherError):
    category = "check"


class LimitError(PublisherError):
    category = "limit"


@dataclass(frozen=True)
class Problem:
    """A recoverable problem, kept for the build report: the file it is in and, when known,
    the 1-based line."""

    category: str
    message: str
    where: str = ""
    line: int | None = None

    def __str__(self) -> str:
        return f"{Location(self.where, self.line)}: {self.message}" if self.where else self.message

    def as_dict(self) -> dict:
        return {"category": self.category, "message": self.message, "where": self.where, "line": self.line}
