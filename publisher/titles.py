"""A post's title -> the parts a series book sets apart: number, title, subtitle, short title.

A column's posts are titled like `产品故事#003_企业微信——面向企业端的产品的增长之路`: the
series name, the episode number, the title, and after a dash (or a colon, or a bar) the
subtitle. In the book the series name is the book's title and the number is the label
第 3 期, so neither belongs in the chapter's title, its running head, the 目录, the bookmarks
or the EPUB nav (the original title is kept for the colophon's list of sources).

`[titles] pattern` in series.toml replaces the default with a regular expression with named
groups `number`, `title` and `subtitle` (any may be missing); the front matter may give
`subtitle`, `short_title` or `number` for one episode.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Separators between title and subtitle, the first found wins (in this order).
SUBTITLE_SEPARATORS = ("——", "—", "：", " | ", "|", ": ", " - ")
SHORT_MAX = 30  # a running head (8 pt over a 31-character block) longer than this is cut at a mark or with …


@dataclass(frozen=True)
class EpisodeTitle:
    full: str  # as the post gives it
    number: int | None
    title: str
    subtitle: str = ""
    short: str = ""  # for running heads
    long: str = ""  # title and subtitle as the post joins them, without series name and number: for tables of contents

    @property
    def label(self) -> str:
        """What the book calls the episode when it names its number: 第 3 期."""
        return f"第 {self.number} 期" if self.number is not None else ""


def parse_title(full: str, series: str = "", pattern: str = "", number: int | None = None,
                subtitle: str | None = None, short: str | None = None) -> EpisodeTitle:
    """Split `full` into its parts; `number`, `subtitle` and `short` given by the post win."""
    full = re.sub(r"\s+", " ", full).strip()
    if pattern:
        parts = _by_pattern(full, pattern)
    else:
        parts = _by_default(full, series)
    found_number, title, found_subtitle, long = parts
    title = title or full
    if subtitle is not None:
        found_subtitle = subtitle.strip()
    if number is None:
        number = found_number
    if subtitle is not None or not long:
        long = f"{title}——{found_subtitle}" if found_subtitle else title
    return EpisodeTitle(full=full, number=number, title=title, subtitle=found_subtitle,
                        short=(short or "").strip() or _running_head(title, found_subtitle), long=long)


def _by_pattern(full: str, pattern: str) -> tuple[int | None, str, str, str]:
    m = re.search(pattern, full)
    if not m:
        return None, full, "", ""
    groups = m.groupdict()
    digits = re.sub(r"\D", "", groups.get("number") or "")
    return (int(digits) if digits else None), (groups.get("title") or "").strip(), (groups.get("subtitle") or "").strip(), ""


def _by_default(full: str, series: str) -> tuple[int | None, str, str, str]:
    rest = full
    if series and rest.startswith(series):
        rest = rest[len(series):]
    number = None
    if rest is full:  # not the manifest's series name: any short name before '#NNN' is one too
        m = re.match(r"[^#＃\s][^#＃]{1,23}(?=[#＃]\s*\d)", rest)
        if m:
            rest = rest[m.end():]
    m = re.match(r"\s*(?:#|＃|No\.?\s*|第)\s*0*(\d+)\s*(?:期|集|篇|话)?\s*[_\-—:：|、.．\s]*", rest)
    if m and (m.group(0).strip().startswith(("#", "＃", "No", "第")) or rest is not full):
        number = int(m.group(1))
        rest = rest[m.end():]
    elif rest is not full:  # the series name alone, then a separator
        rest = re.sub(r"^\s*[_\-—:：|]+\s*", "", rest)
    title, subtitle = _split_subtitle(rest.strip())
    return number, title, subtitle, rest.strip()


def _split_subtitle(text: str) -> tuple[str, str]:
    for sep in SUBTITLE_SEPARATORS:
        at = text.find(sep)
        if at > 0 and text[at + len(sep):].strip(" —:：|"):
            return text[:at].strip(), text[at + len(sep):].strip(" —")
    return text, ""


def _running_head(title: str, subtitle: str) -> str:
    """Title and subtitle (an ideographic space apart) when they fit the head, else the title
    (cut if need be)."""
    both = f"{title}\u3000{subtitle}" if subtitle else title
    return both if len(both) <= SHORT_MAX else _short(title)


def _short(title: str) -> str:
    if len(title) <= SHORT_MAX:
        return title
    for sep in ("，", "、", "：", "；", ", "):
        at = title.rfind(sep, 6, SHORT_MAX)
        if at > 0:
            return title[:at]
    return title[:SHORT_MAX - 1].rstrip() + "…"


def balanced_breaks(title: str, per_line: int) -> str:
    """Where a display title may break so that no line is left with one or two characters:
    U+2060 WORD JOINER between the last three characters keeps them together when the title
    runs over `per_line` characters (the widow of a title, clreq §3.3)."""
    if len(title) <= per_line or len(title) < 4:
        return title
    return title[:-3] + "\u2060".join(title[-3:])
