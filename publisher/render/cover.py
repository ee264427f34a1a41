"""Book -> a generated cover image (JPEG bytes), for series that give none.

Portrait 1600 x 2560, series title, subtitle and episode count set in a CJK font found through
fontconfig. Deterministic: the same book gives the same bytes.
"""
from __future__ import annotations

import functools
import hashlib
import io
import subprocess
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1600, 2560
NOTO_INDEX = {"JP": 0, "KR": 1, "SC": 2, "TC": 3, "HK": 4}  # faces in Noto CJK .ttc collections
# a language tag's prefix -> the Noto CJK region whose glyph shapes it reads (first match wins)
REGIONS = (("zh-hk", "HK"), ("zh-mo", "HK"), ("zh-tw", "TC"), ("zh-hant", "TC"), ("ja", "JP"), ("ko", "KR"))


def region(language: str) -> str:
    """zh-TW -> TC, zh-HK -> HK, ja -> JP …; SC for anything else."""
    return next((r for prefix, r in REGIONS if language.lower().startswith(prefix)), "SC")


@functools.lru_cache(maxsize=8)
def cjk_font_file(style: str = "Bold", face: str = "SC") -> tuple[str, int] | None:
    """(path, face index) of the Noto Serif CJK face of a region, via fc-match; None when
    there is no CJK font."""
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}\n%{index}", f"Noto Serif CJK {face}:style={style}"],
                             capture_output=True, text=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    if out and out[0] and "CJK" in out[0] and Path(out[0]).is_file():
        return out[0], int(out[1]) if len(out) > 1 and out[1].isdigit() else 0
    for candidate in Path("/usr/share/fonts").rglob("Noto*CJK*.tt[cf]"):
        return str(candidate), NOTO_INDEX[face] if candidate.suffix == ".ttc" else 0
    return None


def _font(size: int, style: str = "Bold", face: str = "SC"):
    found = cjk_font_file(style, face)
    if found is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(found[0], size, index=found[1])


def make_cover(title: str, subtitle: str, count: int, authors: tuple[str, ...], language: str = "zh-CN",
               size: tuple[int, int] = (WIDTH, HEIGHT)) -> bytes:
    """The cover design, its text in the Noto Serif CJK face of the book's language (TC for a
    zh-TW edition); `size` in pixels (the wrap-around cover asks for the trim's proportions)."""
    width, height = size
    face = region(language)
    seed = hashlib.sha256(title.encode()).digest()
    hue = (40 + seed[0] % 60, 50 + seed[1] % 50, 70 + seed[2] % 60)
    im = Image.new("RGB", (width, height), hue)
    draw = ImageDraw.Draw(im)
    draw.rectangle([120, 120, width - 120, height - 120], outline=(245, 240, 228), width=6)
    draw.rectangle([0, int(height * 0.62), width, int(height * 0.62) + 16], fill=(245, 240, 228))
    y = 520
    for line in textwrap.wrap(title, 7) or [title]:
        draw.text((width // 2, y), line, font=_font(190, "Bold", face), fill=(250, 247, 240), anchor="ma")
        y += 240
    if subtitle:
        y += 40
        for line in textwrap.wrap(subtitle, 14):
            draw.text((width // 2, y), line, font=_font(86, "Regular", face), fill=(240, 235, 222), anchor="ma")
            y += 120
    draw.text((width // 2, int(height * 0.62) + 140), f"共 {count} 篇", font=_font(80, "Regular", face),
              fill=(250, 247, 240), anchor="ma")
    if authors:
        draw.text((width // 2, height - 360), "、".join(authors[:4]), font=_font(70, "Regular", face),
                  fill=(250, 247, 240), anchor="ma")
    out = io.BytesIO()
    im.save(out, "JPEG", quality=88)
    return out.getvalue()
