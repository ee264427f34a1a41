"""A series folder -> a stream of Snapshots for the preview: watch it, rebuild the Book on each
change, lay out the PDF from the latest Book.

    book_loop   on each change: `pipeline.prepare` (manifest, episodes, images -> Book),
                incremental through the episode store and the image cache; fast
    pdf_loop    the latest good Book -> the screen PDF (`pipeline.BACKENDS["pdf"]`; unchanged
                episodes come from the part cache), in its own thread so it never delays the text
    watch_loop  watchfiles on the series folder: series.toml, the episodes, the cover, themes/

A failed build is kept beside the last good one, so the pages can show both.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .book import Book
from .cache import default_root
from .errors import Problem, PublisherError
from .manifest import slugify
from .pipeline import BACKENDS, BuildOptions, Prepared, prepare
from .render import preview as pages
from .report import Timings
from .themes import Theme, load_theme

POSTS = (".md", ".markdown", ".html", ".htm")


@dataclass(frozen=True)
class Snapshot:
    """What the preview shows: the last good build, and how the latest ones went."""

    prepared: Prepared | None = None  # the last build that went through
    names: dict = field(default_factory=dict)  # chapter key -> its name in URLs (episode_names)
    book_version: int = 0  # book builds so far, good or failed: pages made from an older one reload
    good_version: int = 0  # the book build `prepared` came from
    error: str = ""  # why the latest book build failed
    pdf: pages.PdfView | None = None
    previous_pdf: pages.PdfView | None = None  # kept (with its page images) for pages still open
    pdf_version: int = 0
    pdf_of: int = 0  # the book build the PDF was laid out from
    pdf_error: str = ""
    pdf_warnings: tuple[Problem, ...] = ()
    stopping: bool = False

    def status(self, root: Path) -> pages.Status:
        warnings = (self.prepared.warnings if self.prepared else ()) + self.pdf_warnings
        return pages.Status(self.book_version, self.pdf_version, "\n".join(filter(None, (self.error, self.pdf_error))),
                            warnings, bool(self.prepared) and self.pdf_of < self.good_version, root, self.names)

    @property
    def theme(self) -> Theme:
        return self.prepared.theme if self.prepared else load_theme("default")


class Preview:
    """The latest Snapshot behind a condition (the live-reload streams wait on it), and the
    threads that rebuild it."""

    def __init__(self, manifest: Path, outdir: Path, echo=print, options: BuildOptions = BuildOptions()):
        self.manifest, self.root, self.outdir, self.echo = manifest, manifest.parent, outdir, echo
        self.options = replace(options, formats=("pdf",), outdir=None)  # the PDF is the one file it writes
        self.cache_root = default_root().resolve()
        self.dirty = threading.Event()
        self.dirty.set()  # the first build
        self.stopped = threading.Event()
        self._snapshot = Snapshot()
        self._changed = threading.Condition()

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def publish(self, **changes) -> Snapshot:
        with self._changed:
            self._snapshot = replace(self._snapshot, **changes)
            self._changed.notify_all()
            return self._snapshot

    def wait(self, ready, timeout: float | None) -> Snapshot:
        """The snapshot once `ready(snapshot)` holds, or the current one after `timeout` s."""
        with self._changed:
            self._changed.wait_for(lambda: ready(self._snapshot) or self._snapshot.stopping, timeout)
            return self._snapshot

    def stop(self) -> None:
        self.stopped.set()
        self.dirty.set()
        self.publish(stopping=True)

    def book_loop(self) -> None:
        while True:
            self.dirty.wait()
            if self.stopped.is_set():
                return
            self.dirty.clear()
            self.build_book()

    def build_book(self) -> None:
        """One incremental build up to the Book; a failure is shown, the last good book kept."""
        start = time.perf_counter()
        try:
            prepared, error = prepare(self.manifest, self.options, Timings()), ""
        except PublisherError as exc:
            prepared, error = None, _relative(str(exc), self.root)
        except Exception as exc:  # noqa: BLE001 - a preview shows any failure and keeps serving
            prepared, error = None, f"internal error: {type(exc).__name__}: {exc}"
        version = self._snapshot.book_version + 1
        if prepared:
            self.publish(prepared=prepared, names=episode_names(prepared.book), book_version=version,
                         good_version=version, error="")
            self.echo(f"built {len(prepared.book.chapters)} episode(s), {len(prepared.warnings)} warning(s) "
                      f"in {time.perf_counter() - start:.1f}s")
        else:
            self.publish(book_version=version, error=error)
            self.echo(f"build failed: {error}")

    def pdf_loop(self) -> None:
        """Lay out the latest good book whenever there is a newer one than the last PDF's."""
        while True:
            snapshot = self.wait(lambda s: s.prepared is not None and s.good_version > s.pdf_of, None)
            if snapshot.stopping:
                return
            start, version = time.perf_counter(), snapshot.good_version
            folder = self.outdir / f"v{version}"
            try:
                written, noticed, _ = BACKENDS["pdf"](snapshot.prepared.book, folder, snapshot.prepared.theme,
                                                   snapshot.prepared.cache, self.options, None)
                view = pages.read_pdf(written[0], snapshot.prepared.book)
            except Exception as exc:  # noqa: BLE001 - shown on the page; the server keeps going
                if self.stopped.is_set():
                    return
                message = str(exc) if isinstance(exc, PublisherError) else f"{type(exc).__name__}: {exc}"
                self.publish(pdf_of=version, pdf_error=f"PDF: {_relative(message, self.root)}")
                self.echo(f"PDF failed: {message}")
                continue
            old = self._snapshot.pdf
            self.publish(pdf=view, previous_pdf=old, pdf_of=version, pdf_version=self._snapshot.pdf_version + 1,
                         pdf_error="", pdf_warnings=tuple(noticed))
            self.echo(f"PDF laid out: {len(view.labels)} pages in {time.perf_counter() - start:.1f}s")
            self._forget(keep={view.digest, old.digest if old else ""}, keep_folders={folder, old.path.parent if old else folder})

    def _forget(self, keep: set[str], keep_folders: set[Path]) -> None:
        """Remove PDFs and page images older than the last two (an open page may still ask)."""
        for entry in self.outdir.glob("v*"):
            if entry not in keep_folders:
                shutil.rmtree(entry, ignore_errors=True)
        for entry in (self.outdir / "pages").glob("*"):
            if entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)

    def watch_loop(self) -> None:
        from watchfiles import DefaultFilter, watch
        default = DefaultFilter()
        for changes in watch(self.root, watch_filter=lambda change, path: default(change, path) and self.relevant(Path(path)),
                             stop_event=self.stopped, raise_interrupt=False):
            names = sorted({_relative(path, self.root) for _, path in changes})
            self.echo(f"changed: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}")
            self.dirty.set()

    def relevant(self, path: Path) -> bool:
        """Whether a change under the series folder can change the book: the manifest, the
        series' themes/, the cover, an episode or a new post beside them (any post until a
        manifest has been read). Never the cache, which may live in the series folder."""
        if path.is_relative_to(self.cache_root):
            return False
        if path == self.manifest or path.is_relative_to(self.root / "themes"):
            return True
        post = path.suffix.lower() in POSTS
        m = self._snapshot.prepared.manifest if self._snapshot.prepared else None
        if m is None:
            return post
        return path == m.cover or path in m.episodes or post and path.parent in {e.parent for e in m.episodes}


def episode_names(book: Book) -> dict[str, str]:
    """Chapter key -> the name its pages have in URLs: its file's path from the episodes' common
    folder, slugified. Chapter keys are made from the post's text, so they change with every
    edit; an open page must keep its address while its post is edited."""
    base = Path(os.path.commonpath([c.source.parent for c in book.chapters])) if book.chapters else Path("/")
    names: dict[str, str] = {}
    for chapter in book.chapters:
        name = slugify(str(chapter.source.relative_to(base).with_suffix("")))[:80]
        names[chapter.key] = name if name not in names.values() else f"{name}-{chapter.key}"
    return names


def _relative(text: str, root: Path) -> str:
    """Paths in messages shown relative to the series folder."""
    return text.replace(str(root) + os.sep, "")
