"""The cache folder: where each kind of entry lives, which entries a build used, and how big
each kind is; `prune` keeps what given series use and drops the rest, `clear` empties it.

Layout under the root (PUBLISHER_CACHE, else $XDG_CACHE_HOME/publisher):

    kind       folders                what
    images     objects/ab/<sha256>    image bytes, named by their sha256
               urls/12/<sha>.json     what a URL gave (images/cache.py)
    derived    derived/ab/<key>       images prepared per format, generated covers
    episodes   episodes/ab/<sha>.json normalized episodes (normalize/store.py)
    layouts    pdf/ab/<key>.pdf|.json laid-out PDF parts (render/parts.py)
               typeset/ab/<key>.html  chapter bodies with the page's markup (render/pdf.py)
    fonts      fonts/<key>[.ref]      the font programs laid-out parts use: a reference to the
                                      installed file with those bytes, else a copy
    uses       uses/<sha>.json        per series and format: the entries its last build used

Every store takes a `Cache` and asks it for its folder; each entry a build reads or writes is
noted (`use`), and the pipeline records them per series and format (`remember`), so pruning
knows what a series needs without building it again.
"""
from __future__ import annotations

import collections
import functools
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .files import atomic_write

KINDS = {"images": ("objects", "urls"), "derived": ("derived",), "episodes": ("episodes",),
         "layouts": ("pdf", "typeset"), "fonts": ("fonts",)}
USES = "uses"


def code_version(*paths: Path) -> str:
    """The code that decides an entry, as part of its key: the sha256 of these files' bytes
    (16 hex digits), so that changing that code makes new entries."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def default_root() -> Path:
    if env := os.environ.get("PUBLISHER_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "publisher"


class Cache:
    """The cache root, the folder of each kind, and the entries this process used."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else default_root()
        self.used: set[Path] = set()
        # laid-out parts this process asked for: {"laid_out": n, "cached": m} (render/parts.py);
        # the pipeline reports them per format
        self.layouts: collections.Counter = collections.Counter()

    def folder(self, name: str) -> Path:
        """One of the folders KINDS names (e.g. "pdf"), under the root."""
        assert any(name in folders for folders in KINDS.values()), name
        return self.root / name

    def use(self, path: Path) -> Path:
        """Note that this build needs `path` (set.add is atomic: threads may call it)."""
        self.used.add(path)
        return path

    def _uses_path(self, series: Path) -> Path:
        key = hashlib.sha256(str(Path(series).resolve()).encode("utf-8", "surrogatepass")).hexdigest()
        return self.root / USES / f"{key}.json"

    def remember(self, series: Path, formats: tuple[str, ...]) -> None:
        """Record the entries used so far as what `series` needs for each of `formats`
        (a format built again replaces its record; the others keep theirs)."""
        path = self._uses_path(series)
        record = _read_json(path) or {}
        used = sorted(p.relative_to(self.root).as_posix() for p in self.used if p.is_relative_to(self.root))
        record.update({fmt: used for fmt in formats})
        atomic_write(path, json.dumps(record, ensure_ascii=False).encode("utf-8"))

    def remembered(self, series: Path) -> set[Path]:
        """Every entry the recorded builds of `series` used, in any format."""
        record = _read_json(self._uses_path(series)) or {}
        return {self.root / p for paths in record.values() for p in paths} | {self._uses_path(series)}


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class KindSize:
    kind: str
    files: int
    bytes: int


def _files(root: Path, kind: str):
    for name in KINDS.get(kind, (kind,)):
        folder = root / name
        if folder.is_dir():
            yield from (p for p in folder.rglob("*") if p.is_file())


def info(cache: Cache) -> list[KindSize]:
    """Files and bytes per kind (images, derived, episodes, layouts, fonts)."""
    sizes = []
    for kind in KINDS:
        files = list(_files(cache.root, kind))
        sizes.append(KindSize(kind, len(files), sum(f.stat().st_size for f in files)))
    return sizes


def prune(cache: Cache, keep: set[Path]) -> tuple[int, int]:
    """Remove every entry of every kind not in `keep` (and the font files no kept layout
    uses; the use records of other series). Returns (files removed, bytes freed)."""
    layouts = [p for p in keep if p.suffix == ".json" and p.parent.parent == cache.folder("pdf")]
    keep = keep | _fonts_of(layouts, cache.folder("fonts"))
    removed, freed = 0, 0
    for kind in (*KINDS, USES):
        for path in list(_files(cache.root, kind)):
            if path not in keep:
                freed += path.stat().st_size
                path.unlink(missing_ok=True)
                removed += 1
    return removed, freed


def _fonts_of(layouts: list[Path], folder: Path) -> set[Path]:
    """The font files named in laid-out parts' page facts (render/parts.py)."""
    fonts = set()
    for meta_path in layouts:
        meta = _read_json(meta_path) or {}
        fonts |= {folder / name for entry in meta.get("fonts", {}).values() for name in (entry[0], f"{entry[0]}.ref")}
    return fonts


def font_file(folder: Path, key: str) -> Path | None:
    """The font program kept under `key`: the copy, or the installed file its reference names
    while that file is unchanged (same size and modification time); None when neither holds."""
    if (folder / key).is_file():
        return folder / key
    ref = _read_json(folder / f"{key}.ref")
    try:
        stat = os.stat(ref["path"])
        unchanged = (stat.st_size, stat.st_mtime_ns) == (ref["size"], ref["mtime_ns"])
    except (OSError, KeyError, TypeError):
        return None
    return Path(ref["path"]) if unchanged else None


def keep_font(folder: Path, key: str, program: bytes) -> None:
    """Keep a font program for the assembler under `key`: a reference to the installed file
    that holds these very bytes (a CJK face is 20-27 MB: no copy in every cache), else a copy."""
    for path in _installed_fonts().get(len(program), ()):
        try:
            stat = os.stat(path)
            if Path(path).read_bytes() == program:
                ref = {"path": path, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
                atomic_write(folder / f"{key}.ref", json.dumps(ref).encode("utf-8"))
                return
        except OSError:
            continue
    atomic_write(folder / key, program)


@functools.lru_cache(maxsize=1)
def _installed_fonts() -> dict[int, tuple[str, ...]]:
    """fontconfig's font files (what Pango picks from), by size."""
    try:
        listed = subprocess.run(["fc-list", "--format", "%{file}\n"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    by_size: dict[int, tuple[str, ...]] = {}
    for path in sorted(set(listed.splitlines())):
        try:
            by_size[os.path.getsize(path)] = by_size.get(os.path.getsize(path), ()) + (path,)
        except OSError:
            continue
    return by_size


def clear(cache: Cache) -> int:
    """Remove every kind's folder (never the root itself: it may hold other things). Returns bytes freed."""
    freed = sum(size.bytes for size in info(cache)) + sum(f.stat().st_size for f in _files(cache.root, USES))
    for name in [f for folders in KINDS.values() for f in folders] + [USES]:
        shutil.rmtree(cache.root / name, ignore_errors=True)
    return freed
