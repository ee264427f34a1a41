"""series.toml -> Manifest: the series' settings, validated as a whole.

Every problem is collected (syntax, missing and unknown keys, wrong types, patterns that match
nothing, paths outside the series folder) and reported at once, each as `path:line: message`,
with the key the user probably meant for unknown ones.
"""
from __future__ import annotations

import difflib
import re
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ManifestError

MANIFEST_NAME = "series.toml"
DEFAULT_UNWRAP = ("https://cors.zfour.workers.dev/?",)
TRIMS = {"A5": (148.0, 210.0), "B5": (176.0, 250.0), "16K": (185.0, 260.0), "A4": (210.0, 297.0)}


@dataclass(frozen=True)
class ImageSettings:
    unwrap: tuple[str, ...] = DEFAULT_UNWRAP
    timeout: float = 20.0
    max_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 60_000_000
    mirror: Path | None = None
    allow_hosts: tuple[str, ...] = ()  # intranet hosts or networks the user trusts


@dataclass(frozen=True)
class PdfSettings:
    trim: tuple[float, float] = TRIMS["A5"]  # millimetres, width x height
    bleed: float = 3.0  # millimetres, print format only
    min_ppi: int = 150
    toc_depth: int | None = None  # printed 目录: 1 episodes, 2 with sections; None: 2 unless that is long


PAGE_MULTIPLES = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64)
MARKS = ("crop", "registration", "slug")


@dataclass(frozen=True)
class PressSettings:
    """[print]: what the print shop asks of the press file and the cover."""

    icc: Path | None = None  # the shop's CMYK output profile; None: one Debian ships (render/press.py)
    condition: str = ""  # OutputConditionIdentifier (e.g. FOGRA39); "": the profile's description
    max_ink: int = 300  # total area coverage, percent
    pages_multiple: int = 4  # signatures: the page count is padded to a multiple of this
    paper_thickness: float = 0.1  # millimetres per leaf (two pages), for the cover's spine
    min_ppi: int = 300  # photos below this at their placed size are reported
    slug: float = 9.0  # millimetres of slug beyond the bleed, where the marks go
    marks: tuple[str, ...] = ("crop",)


@dataclass(frozen=True)
class TitleSettings:
    """[titles]: how an episode's title splits into number, title and subtitle (titles.py)."""

    pattern: str = ""  # a regular expression with named groups number, title, subtitle; "": the default


@dataclass(frozen=True)
class EpubSettings:
    toc_depth: int = 2
    max_image: int = 1600
    jpeg_quality: int = 82


EDITION_KEYS = {"opencc": (str, "an OpenCC configuration: s2twp, s2hk, s2tw or s2t"), "title": (str, "a string"),
                "keep": (list, "a list of terms to leave unconverted"), "identifier": (str, "a string")}
OPENCC_CONFIGS = ("s2t", "s2tw", "s2twp", "s2hk")


@dataclass(frozen=True)
class EditionSettings:
    """[editions.NAME]: what series.toml says of one edition (editions.py makes it)."""

    name: str  # zh-TW, zh-HK, zh-Hant or the user's own; the language tag and the files' suffix
    opencc: str = ""  # "": the built-in edition's configuration
    title: str = ""  # "": the series title converted
    keep: tuple[str, ...] = ()  # names and products OpenCC must leave as they are
    identifier: str = ""  # "": derived from the series' identifier and the edition's name


@dataclass(frozen=True)
class Manifest:
    path: Path
    title: str
    episodes: tuple[Path, ...]
    subtitle: str = ""
    authors: tuple[str, ...] = ()
    language: str = "zh-CN"
    publisher: str = ""
    rights: str = ""  # dc:rights, as given
    series_position: float | None = None  # this book's place in its series (EPUB group-position)
    description: str = ""
    identifier: str = ""
    cover: Path | None = None
    theme: str = "default"
    order: str = "number"
    images: ImageSettings = field(default_factory=ImageSettings)
    pdf: PdfSettings = field(default_factory=PdfSettings)
    press: PressSettings = field(default_factory=PressSettings)
    epub: EpubSettings = field(default_factory=EpubSettings)
    titles: TitleSettings = field(default_factory=TitleSettings)
    editions: tuple[EditionSettings, ...] = ()
    edition: str = ""  # the edition this manifest describes (editions.convert_manifest); "": the series as written

    @property
    def edition_suffix(self) -> str:
        """What output names carry after the slug: "-zh-TW" for that edition, "" otherwise."""
        return f"-{self.edition}" if self.edition else ""

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def slug(self) -> str:
        return slugify(self.root.name if self.root.name else self.title)


def slugify(text: str) -> str:
    slug = re.sub(r"[^\w]+", "-", text.strip().lower()).strip("-")
    return slug or "series"


# The schema: key -> (accepted types, description used in messages).
TOP_KEYS = {
    "title": (str, "a string"), "subtitle": (str, "a string"), "authors": (list, "a list of strings"),
    "language": (str, "a string"), "publisher": (str, "a string"), "description": (str, "a string"),
    "identifier": (str, "a string"), "cover": (str, "a path"), "theme": (str, "a string"),
    "episodes": (list, "a list of paths or globs"), "order": (str, "number, date or listed"),
    "editions": (dict, "tables [editions.NAME]"),
    "rights": (str, "a string"), "series-position": ((int, float), "a number (this book's place in its series)"),
}
TABLES = {
    "images": {"unwrap": (list, "a list of URL prefixes"), "timeout": ((int, float), "seconds"),
               "max-bytes": (int, "bytes"), "max-pixels": (int, "pixels"), "mirror": (str, "a folder"),
               "allow-hosts": (list, "a list of host names or networks")},
    "pdf": {"trim": (str, 'A5, B5, 16K or "W mm H mm"'), "bleed": ((str, int, float), 'a length like "3mm"'),
            "min-ppi": (int, "pixels per inch"), "toc-depth": (int, "1 or 2")},
    "print": {"icc": (str, "a path to a CMYK .icc profile"), "condition": (str, 'an output condition like "FOGRA39"'),
              "max-ink": (int, "percent of total ink, 200-400"), "pages-multiple": (int, "4, 8, 16 or 32"),
              "paper-thickness": ((str, int, float), 'a length per leaf like "0.1mm"'),
              "min-ppi": (int, "pixels per inch"), "slug": ((str, int, float), 'a length like "9mm", at least 3mm'),
              "marks": (list, 'a list of "crop", "registration", "slug"')},
    "titles": {"pattern": (str, "a regular expression with named groups number, title, subtitle")},
    "epub": {"toc-depth": (int, "1, 2 or 3"), "max-image": (int, "pixels"), "jpeg-quality": (int, "1-95")},
}


def find_manifest(path: Path) -> Path:
    """SERIES may be a folder holding series.toml or the file itself."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"{path}: no {MANIFEST_NAME} here (give a series folder or its {MANIFEST_NAME})")
    return path.resolve()


def load_manifest(path: Path) -> Manifest:
    """Read and validate a series manifest; raise ManifestError listing every problem."""
    path = find_manifest(path)
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        line = line.group(1) if line else len(text.splitlines()) if "end of document" in str(exc) else None
        where = f"{path}:{line}" if line else str(path)
        raise ManifestError(f"{where}: TOML syntax error: {exc}") from None
    lines = _key_lines(text)
    problems: list[str] = []

    def report(key: tuple[str, ...], message: str) -> None:
        line = lines.get(key) or lines.get(key[:1])
        problems.append(f"{path}:{line}: {message}" if line else f"{path}: {message}")

    _check_keys(data, TOP_KEYS, (), report)
    for table, schema in TABLES.items():
        if table in data:
            if isinstance(data[table], dict):
                _check_keys(data[table], schema, (table,), report)
            else:
                report((table,), f"[{table}] must be a table")
    if not isinstance(data.get("title"), str) or not data.get("title", "").strip():
        if "title" not in data:
            report((), "missing required key 'title' (the series title)")
    if "episodes" not in data:
        report((), "missing required key 'episodes' (files or globs of the episodes, relative to series.toml)")

    root = path.parent
    episodes = _resolve_episodes(root, data.get("episodes"), report) if isinstance(data.get("episodes"), list) else ()
    order = data.get("order", "number")
    if order not in ("number", "date", "listed"):
        report(("order",), f"order must be number, date or listed, not {order!r}")
    position = data.get("series-position")
    if isinstance(position, (int, float)) and not isinstance(position, bool) and position <= 0:
        report(("series-position",), f"series-position must be a positive number, not {position}")
    cover = _cover(root, data, report)
    tables = _tables(root, data, report)
    if problems:
        raise ManifestError(problems)

    title = data["title"].strip()
    return Manifest(
        path=path, title=title, episodes=episodes, subtitle=data.get("subtitle", ""),
        authors=tuple(str(a) for a in data.get("authors", ())), language=data.get("language", "zh-CN"),
        publisher=data.get("publisher", ""), description=data.get("description", ""), rights=data.get("rights", ""),
        series_position=data.get("series-position"),
        identifier=data.get("identifier") or f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'publisher:' + title)}",
        cover=cover, theme=data.get("theme", "default"), order=order, **tables)


def _cover(root: Path, data: dict, report) -> Path | None:
    if not isinstance(data.get("cover"), str):
        return None
    cover = _inside(root, data["cover"], ("cover",), report)
    if cover is not None and not cover.is_file():
        report(("cover",), f"cover file {data['cover']!r} does not exist")
        return None
    return cover


def _tables(root: Path, data: dict, report) -> dict:
    """The manifest's tables, each read by its own function: Manifest's keyword arguments."""
    return {"images": _image_settings(root, data.get("images", {}), report),
            "pdf": _pdf_settings(data.get("pdf", {}), report),
            "press": _press_settings(root, data.get("print", {}), data.get("pdf", {}), report),
            "epub": _epub_settings(data.get("epub", {}), report),
            "titles": _title_settings(data.get("titles", {}), report),
            "editions": _edition_settings(data.get("editions", {}), report)}


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line of each key, so messages can point at it (tomllib gives no positions)."""
    lines, table = {}, ()
    for number, raw in enumerate(text.splitlines(), 1):
        if m := re.match(r"\s*\[\s*([\w.-]+)\s*\]", raw):
            table = tuple(m.group(1).split("."))
            lines.setdefault(table, number)
        elif m := re.match(r'\s*("?)([\w-]+)\1\s*=', raw):
            lines.setdefault(table + (m.group(2),), number)
    return lines


def _check_keys(data: dict, schema: dict, prefix: tuple[str, ...], report) -> None:
    allowed = set(schema) | (set(TABLES) if not prefix else set())
    for key, value in data.items():
        if key not in allowed:
            guess = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean '{'.'.join(prefix + (guess[0],))}'?" if guess else f"; known keys: {', '.join(sorted(schema))}"
            report(prefix + (key,), f"unknown key '{'.'.join(prefix + (key,))}'{hint}")
        elif key in schema and (isinstance(value, bool) or not isinstance(value, schema[key][0])):
            report(prefix + (key,), f"'{'.'.join(prefix + (key,))}' must be {schema[key][1]}, not {value!r}")


def _inside(root: Path, relative: str, key: tuple[str, ...], report) -> Path | None:
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        report(key, f"{relative!r} is outside the series folder {root}")
        return None
    return target


def _resolve_episodes(root: Path, patterns: list, report) -> tuple[Path, ...]:
    found: list[Path] = []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.strip():
            report(("episodes",), f"episodes entries must be paths or globs, not {pattern!r}")
            continue
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            report(("episodes",), f"episode pattern {pattern!r} is outside the series folder {root}")
            continue
        matches = sorted(p.resolve() for p in root.glob(pattern) if p.is_file())
        outside = [m for m in matches if not m.is_relative_to(root)]
        if outside:
            report(("episodes",), f"episode pattern {pattern!r} reaches outside the series folder: {outside[0]}")
            continue
        if not matches:
            report(("episodes",), f"episode pattern {pattern!r} matches no file in {root}")
        found += [m for m in matches if m not in found]
    return tuple(found)


def _image_settings(root: Path, table: dict, report) -> ImageSettings:
    if not isinstance(table, dict):
        return ImageSettings()
    mirror = _inside(root, table["mirror"], ("images", "mirror"), report) if isinstance(table.get("mirror"), str) else None
    timeout = table.get("timeout", 20)
    if isinstance(timeout, (int, float)) and not 0 < timeout <= 600:
        report(("images", "timeout"), f"images.timeout must be between 0 and 600 seconds, not {timeout}")
    return ImageSettings(
        unwrap=tuple(str(u) for u in table.get("unwrap", DEFAULT_UNWRAP)),
        timeout=float(timeout) if isinstance(timeout, (int, float)) else 20.0,
        max_bytes=int(table.get("max-bytes", ImageSettings.max_bytes)),
        max_pixels=int(table.get("max-pixels", ImageSettings.max_pixels)),
        mirror=mirror, allow_hosts=tuple(str(h) for h in table.get("allow-hosts", ())))


def parse_length_mm(value, key, report) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = re.fullmatch(r"\s*([\d.]+)\s*(mm|cm|in|pt)?\s*", str(value))
    if not m:
        report(key, f"{'.'.join(key)} must be a length like \"3mm\", not {value!r}")
        return None
    factor = {"mm": 1, None: 1, "cm": 10, "in": 25.4, "pt": 25.4 / 72}[m.group(2)]
    return float(m.group(1)) * factor


def _pdf_settings(table: dict, report) -> PdfSettings:
    if not isinstance(table, dict):
        return PdfSettings()
    trim = PdfSettings.trim
    if isinstance(table.get("trim"), str):
        name = table["trim"].strip()
        m = re.fullmatch(r"([\d.]+)\s*mm\s*[x× ]?\s*([\d.]+)\s*mm", name, re.I)
        if name.upper() in TRIMS:
            trim = TRIMS[name.upper()]
        elif m and 50 <= float(m.group(1)) <= 600 and 50 <= float(m.group(2)) <= 600:
            trim = (float(m.group(1)), float(m.group(2)))
        else:
            report(("pdf", "trim"), f'pdf.trim must be A5, B5, 16K or "WIDTHmm HEIGHTmm", not {name!r}')
    bleed = parse_length_mm(table.get("bleed", 3), ("pdf", "bleed"), report)
    if bleed is not None and not 0 <= bleed <= 10:
        report(("pdf", "bleed"), f"pdf.bleed must be between 0 and 10 mm, not {bleed}")
    depth = table.get("toc-depth")
    if depth is not None and depth not in (1, 2):
        report(("pdf", "toc-depth"), f"pdf.toc-depth must be 1 or 2, not {depth!r}")
    return PdfSettings(trim=trim, bleed=bleed if bleed is not None else 3.0,
                       min_ppi=int(table.get("min-ppi", PdfSettings.min_ppi)),
                       toc_depth=depth if depth in (1, 2) else None)


def _press_settings(root: Path, table: dict, pdf: dict, report) -> PressSettings:
    """[print]; min-ppi falls back to the older [pdf] min-ppi, then to 300 (TYPOGRAPHY.md, 印刷)."""
    if not isinstance(table, dict):
        return PressSettings()
    default = PressSettings()
    icc = _inside(root, table["icc"], ("print", "icc"), report) if isinstance(table.get("icc"), str) else None
    if icc is not None and not _cmyk_output_profile(icc, table["icc"], report):
        icc = None
    multiple = _whole(table.get("pages-multiple"))
    if multiple is not None and multiple not in PAGE_MULTIPLES:
        report(("print", "pages-multiple"), f"print.pages-multiple must be one of {', '.join(map(str, PAGE_MULTIPLES))}, "
                                            f"not {multiple}")
        multiple = None

    def length(key):
        return parse_length_mm(table[key], ("print", key), report) if key in table else None
    min_ppi = table.get("min-ppi", pdf.get("min-ppi") if isinstance(pdf, dict) else None)
    return PressSettings(
        icc=icc, condition=table["condition"] if isinstance(table.get("condition"), str) else "",
        max_ink=_ranged("max-ink", _whole(table.get("max-ink")), 200, 400, default.max_ink, report),
        pages_multiple=multiple or default.pages_multiple,
        paper_thickness=_ranged("paper-thickness", length("paper-thickness"), 0.02, 0.5, default.paper_thickness, report),
        min_ppi=_ranged("min-ppi", _whole(min_ppi), 50, 2400, default.min_ppi, report),
        slug=_ranged("slug", length("slug"), 3, 20, default.slug, report),
        marks=_marks(table["marks"], report) if isinstance(table.get("marks"), list) else default.marks)


def _whole(value) -> int | None:
    """An integer setting, or None (a wrong type is reported by _check_keys)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _ranged(key: str, value, low: float, high: float, default, report):
    """`value` when it lies in [low, high]; else the default (reported unless absent)."""
    if value is None:
        return default
    if not low <= value <= high:
        report(("print", key), f"print.{key} must be between {low:g} and {high:g}, not {value:g}")
        return default
    return value


def _marks(marks: list, report) -> tuple[str, ...]:
    """[print] marks, each known one once (none at all for print-on-demand services that
    refuse marks); unknown ones reported with the one meant."""
    for mark in marks:
        if mark not in MARKS:
            guess = difflib.get_close_matches(str(mark), MARKS, n=1)
            report(("print", "marks"), f"print.marks: unknown mark {mark!r}"
                                       + (f"; did you mean {guess[0]!r}?" if guess else f"; known: {', '.join(MARKS)}"))
    return tuple(dict.fromkeys(m for m in marks if m in MARKS))


def _cmyk_output_profile(path: Path, given: str, report) -> bool:
    """Whether `path` is an ICC profile of a CMYK printing condition (what PDF/X's output intent needs)."""
    from PIL import ImageCms
    if not path.is_file():
        report(("print", "icc"), f"print.icc: {given!r} does not exist")
        return False
    try:
        profile = ImageCms.getOpenProfile(str(path)).profile
    except (OSError, ImageCms.PyCMSError) as exc:
        report(("print", "icc"), f"print.icc: {given!r} is not an ICC profile ({exc})")
        return False
    if profile.xcolor_space.strip() != "CMYK":
        report(("print", "icc"), f"print.icc: {given!r} is a {profile.xcolor_space.strip()} profile; "
                                 "the press file needs the shop's CMYK profile")
        return False
    return True


def _title_settings(table: dict, report) -> TitleSettings:
    pattern = table.get("pattern", "") if isinstance(table, dict) else ""
    if not isinstance(pattern, str) or not pattern:
        return TitleSettings()
    try:
        groups = re.compile(pattern).groupindex
    except re.error as exc:
        report(("titles", "pattern"), f"titles.pattern is not a regular expression: {exc}")
        return TitleSettings()
    if "title" not in groups:
        report(("titles", "pattern"), "titles.pattern needs a named group (?P<title>…); number and subtitle are optional")
    return TitleSettings(pattern=pattern)


def _epub_settings(table: dict, report) -> EpubSettings:
    if not isinstance(table, dict):
        return EpubSettings()
    depth = table.get("toc-depth", 2)
    if isinstance(depth, int) and depth not in (1, 2, 3):
        report(("epub", "toc-depth"), f"epub.toc-depth must be 1, 2 or 3, not {depth}")
    max_image = table.get("max-image", 1600)
    if isinstance(max_image, int) and not 200 <= max_image <= 10000:
        report(("epub", "max-image"), f"epub.max-image must be between 200 and 10000 pixels, not {max_image}")
    quality = table.get("jpeg-quality", 82)
    return EpubSettings(toc_depth=depth if depth in (1, 2, 3) else 2,
                        max_image=max_image if isinstance(max_image, int) else 1600,
                        jpeg_quality=quality if isinstance(quality, int) and 1 <= quality <= 95 else 82)


def _edition_settings(tables: dict, report) -> tuple[EditionSettings, ...]:
    """[editions.NAME] tables, each checked like the others (keys, types, OpenCC names)."""
    if not isinstance(tables, dict):
        return ()
    editions = []
    for name, table in tables.items():
        if not isinstance(table, dict):
            report(("editions", name), f"editions.{name} must be a table [editions.{name}]")
            continue
        _check_keys(table, EDITION_KEYS, ("editions", name), report)
        config = table.get("opencc", "")
        if isinstance(config, str) and config and config.removesuffix(".json") not in OPENCC_CONFIGS:
            guess = difflib.get_close_matches(config, OPENCC_CONFIGS, n=1)
            report(("editions", name, "opencc"), f"editions.{name}.opencc must be one of {', '.join(OPENCC_CONFIGS)}, "
                                                 f"not {config!r}" + (f"; did you mean {guess[0]!r}?" if guess else ""))
            config = ""
        keep = table.get("keep", [])
        if isinstance(keep, list) and not all(isinstance(t, str) and t.strip() for t in keep):
            report(("editions", name, "keep"), f"editions.{name}.keep must list non-empty strings, not {keep!r}")
        if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", name):
            report(("editions", name), f"edition name {name!r} must be a language tag like zh-TW (it names the files)")
        text = {k: table[k] if isinstance(table.get(k), str) else "" for k in ("title", "identifier")}
        editions.append(EditionSettings(name, config.removesuffix(".json") if isinstance(config, str) else "",
                                        text["title"].strip(), tuple(t for t in keep if isinstance(t, str) and t.strip())
                                        if isinstance(keep, list) else (), text["identifier"].strip()))
    return tuple(editions)
