"""Where an episode's objects lie in a book written before, so that the next book copies what
would come out the same rather than writing it again (an edit's rebuild).

The assembler records a `Segment` per episode (and per font subset): its bytes' place in the
file, each object's offset, the object numbers and tag-tree keys it took, its tags, and the md5
of its bytes (the book's /ID digests those: a copied run is not read again). The record is kept
per output file (pdf.py); the earlier file is used only while it is as that build wrote it.
"""
from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..cache import code_version

# the code that writes a book's bytes: a segment copied from an earlier book must be what it writes now
WRITER_CODE = code_version(*(Path(__file__).parent / name for name in ("assemble.py", "pdfwrite.py", "fonts.py",
                                                                       "segments.py")))


@dataclass(frozen=True)
class Segment:
    """One episode's objects as a book holds them: the bytes from `start` to `end`, each object
    at its offset from `start`, the numbers they took (`reserved`), and what they add to the
    book's tag tree (PDF syntax, as latin-1 text)."""

    start: int
    end: int
    objects: tuple  # (object number, offset from start)
    reserved: int
    kids: tuple = ()
    nums: tuple = ()
    keys: int = 0  # parent-tree keys taken (a run, as `reserved`)
    namespaces: str | None = None
    tagged: bool = False
    digest: str = ""  # md5 of the bytes (the book's /ID digests them so)


@dataclass(frozen=True)
class Earlier:
    """A book written before (a file of its own, still as written) and its segments by key;
    `file` while it is open to copy from (`open_earlier`)."""

    path: Path
    segments: dict
    file: object = None

    def copy(self, writer, segment: Segment) -> Segment:
        """A segment's bytes copied from this book as they lie, its objects' offsets noted in
        `writer`; -> where it lies in the new book."""
        at = writer.file.tell()
        writer.copy_run(self.file, segment.start, segment.end - segment.start, segment.digest)
        for number, offset in segment.objects:
            writer.offsets[number] = at + offset
        return dataclasses.replace(segment, start=at, end=writer.file.tell())


# An episode's objects take a run of object numbers, and its tags a run of parent-tree keys,
# rounded up with room to spare, so that an edit adding or removing a few objects or links
# leaves the next episodes' numbers and keys, and so their bytes, as they were.
NUMBER_RUN, KEY_RUN = 64, 16


def run_of(used: int, step: int) -> int:
    """`used` numbers rounded up, with a quarter of `step` to spare, to a multiple of `step`."""
    return -(-(used + step // 4) // step) * step


def copy_segment(earlier: Earlier, writer, structure, segment: Segment) -> Segment:
    """An episode's objects as the `earlier` book holds them, copied as they lie: their bytes and
    offsets into `writer`, their tags into the book's `structure`."""
    copied = earlier.copy(writer, segment)
    structure.kids += [k.encode("latin-1") for k in segment.kids]
    structure.nums += [n.encode("latin-1") for n in segment.nums]
    if segment.namespaces is not None and structure.namespaces is None:
        structure.namespaces = segment.namespaces.encode("latin-1")
    structure.used = structure.used or segment.tagged
    return copied


@contextlib.contextmanager
def open_earlier(earlier: Earlier | None):
    """The earlier book, open to copy from; or None (there is none, or it is gone)."""
    try:
        file = open(earlier.path, "rb") if earlier else None
    except OSError:
        file = None
    try:
        yield dataclasses.replace(earlier, file=file) if file else None
    finally:
        if file:
            file.close()
