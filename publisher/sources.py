"""Episode files -> SourceEpisode: decoded text, front matter, raw body HTML.

Accepts UTF-8 with or without BOM, and GB18030/GBK with a warning. Stops with a SourceError
naming the file and line for what cannot be read: binary files, missing or unterminated front
matter, YAML errors. Front matter is loaded with yaml.safe_load only.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import Problem, SourceError

MAX_SOURCE_BYTES = 20 * 1024 * 1024  # a post larger than this is not an article
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader: same rules, 10x faster


@dataclass(frozen=True)
class SourceEpisode:
    path: Path
    title: str
    body: str
    number: int | None = None
    date: dt.datetime | None = None
    author: str = ""
    categories: tuple[str, ...] = ()
    headimg: str = ""
    lang: str = ""
    body_line: int = 1  # line of the file where the body starts
    subtitle: str | None = None  # front matter overrides of the parsed title (titles.py)
    short_title: str | None = None
    warnings: tuple[Problem, ...] = ()

    def line_of(self, text: str) -> int | None:
        """The line of the file where `text` (e.g. an image URL) first appears in the body, as
        written or with `&` escaped; None when it is not there as such (e.g. percent-encoded)."""
        for form in dict.fromkeys((text, text.replace("&", "&amp;"))):
            if form and (at := self.body.find(form)) >= 0:
                return self.body_line + self.body.count("\n", 0, at)
        return None


def read_source(path: Path) -> SourceEpisode:
    """Read one post; raise SourceError for what cannot be read."""
    path = Path(path)
    raw = path.read_bytes()
    if len(raw) > MAX_SOURCE_BYTES:
        raise SourceError(f"file is larger than {MAX_SOURCE_BYTES // 2**20} MB; not an article", path)
    warnings: list[Problem] = []
    text = decode(raw, path, warnings)
    meta, body, body_line = split_front_matter(text, path)

    title = meta.get("title")
    if title is None or not str(title).strip():
        title = path.stem
        warnings.append(Problem("source", "no title in the front matter; using the file name", str(path),
                                _key_line(text, "title")))
    title = re.sub(r"\s+", " ", str(title)).strip()
    date = parse_date(meta.get("date"))
    if date is None:
        warnings.append(Problem("source", f"date {meta.get('date')!r} is missing or unreadable; episode kept", str(path),
                                _key_line(text, "date")))
    if not re.sub(r"<[^>]*>|\s|&nbsp;", "", body):
        warnings.append(Problem("source", "the episode has an empty body", str(path), body_line))
    categories = meta.get("categories") or ()
    if isinstance(categories, str):
        categories = [categories]
    categories = tuple(c for c in (str(c).strip(" -") for c in categories if c is not None) if c)
    number = meta.get("number")
    if not isinstance(number, int):
        m = re.search(r"#\s*(\d+)", title)
        number = int(m.group(1)) if m else None
    headimg = meta.get("headimg") or meta.get("thumbnail") or ""
    return SourceEpisode(path=path, title=title, body=body, number=number, date=date,
                         author=str(meta.get("author") or ""), categories=categories,
                         headimg=str(headimg), lang=str(meta.get("lang") or ""),
                         body_line=body_line, warnings=tuple(warnings),
                         subtitle=_optional_text(meta.get("subtitle")), short_title=_optional_text(meta.get("short_title")))


def _optional_text(value) -> str | None:
    return None if value is None else re.sub(r"\s+", " ", str(value)).strip()


def _key_line(text: str, key: str) -> int | None:
    """The line of the front matter's `key:` (for warnings), or None when it has none."""
    m = re.search(rf"^{key}\s*:", text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None


def decode(raw: bytes, path: Path, warnings: list[Problem]) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw[:65536]:
        raise SourceError("looks like a binary file, not a text post (NUL bytes)", path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        line = raw[: utf8_error.start].count(b"\n") + 1
        raise SourceError("not UTF-8 or GB18030 text (undecodable bytes)", path, line) from None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
    if controls > len(text) // 100:
        raise SourceError("looks like a binary file, not a text post", path)
    warnings.append(Problem("source", "decoded as GB18030, not UTF-8; consider re-saving as UTF-8", str(path)))
    return text


def split_front_matter(text: str, path: Path) -> tuple[dict, str, int]:
    """(front matter, body, body's first line). Front matter sits between `---` lines."""
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None or lines[start].strip() != "---":
        raise SourceError("no front matter: a post starts with a '---' line, YAML, and another '---'",
                          path, (start or 0) + 1)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].rstrip() == "---"), None)
    if end is None:
        raise SourceError("front matter is not terminated by a '---' line", path, start + 1)
    try:
        meta = yaml.load("\n".join(lines[start + 1:end]), Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = start + 2 + mark.line if mark is not None else start + 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SourceError(f"front matter is not valid YAML: {problem}", path, line) from None
    if not isinstance(meta, dict):
        raise SourceError("front matter must be a YAML mapping (key: value lines)", path, start + 2)
    return meta, "\n".join(lines[end + 1:]), end + 2


def parse_date(value) -> dt.datetime | None:
    """RFC 2822 (as Hexo writes it), ISO 8601, or a YAML date; None when unreadable."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is None:
        try:
            parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def order_sources(sources: list[SourceEpisode], order: str) -> list[SourceEpisode]:
    """number: by the digits after '#' in the title (then date, then listing order);
    date: by date; listed: as the manifest lists them. Undated or unnumbered go last.
    An episode whose number another one already has (or, ordering by number, that has none)
    carries a warning, so `list` and `build` report the same things."""
    listed = {id(s): i for i, s in enumerate(sources)}
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    if order == "number":
        ordered = sorted(sources, key=lambda s: (s.number is None, s.number or 0, s.date or far, listed[id(s)]))
    elif order == "date":
        ordered = sorted(sources, key=lambda s: (s.date or far, listed[id(s)]))
    else:
        ordered = list(sources)
    return _numbering_warnings(ordered, order)


def _numbering_warnings(sources: list[SourceEpisode], order: str) -> list[SourceEpisode]:
    seen: dict[int, Path] = {}
    marked = []
    for s in sources:
        problem = None
        if s.number is not None and s.number in seen:
            problem = Problem("source", f"episode number {s.number} also used by {seen[s.number].name}", str(s.path))
        elif s.number is None and order == "number":
            problem = Problem("source", "no episode number ('#NNN' in the title); ordered by date", str(s.path))
        if s.number is not None:
            seen.setdefault(s.number, s.path)
        marked.append(dataclasses.replace(s, warnings=s.warnings + (problem,)) if problem else s)
    return marked
