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
NOTO_SC_INDEX = 2  # Noto CJK .ttc collections: JP, KR, SC, TC, HK


@functools.lru_cache(maxsize=4)
def cjk_font_file(style: str = "Bold", family: str = "Noto Serif CJK SC") -> tuple[str, int] | None:
    """(path, face index) of a CJK font, via fc-match; None when there is none."""
    try:
        out = subprocess.run(["fc-match", "-f", "%{file}\n%{index}", f"{family}:style={style}:lang=zh-cn"],
                             capture_output=True, text=True, timeout=10).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    if out and out[0] and "CJK" in out[0] and Path(out[0]).is_file():
        return out[0], int(out[1]) if len(out) > 1 and out[1].isdigit() else 0
    for candidate in Path("/usr/share/fonts").rglob("Noto*CJK*.tt[cf]"):
        return str(candidate), NOTO_SC_INDEX if candidate.suffix == ".ttc" else 0
    return None


def _font(size: int, style: str = "Bold"):
    found = cjk_font_file(style)
    if found is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(found[0], size, index=found[1])


def make_cover(title: str, subtitle: str, count: int, authors: tuple[str, ...]) -> bytes:
    seed = hashlib.sha256(title.encode()).digest()
    hue = (40 + seed[0] % 60, 50 + seed[1] % 50, 70 + seed[2] % 60)
    im = Image.new("RGB", (WIDTH, HEIGHT), hue)
    draw = ImageDraw.Draw(im)
    draw.rectangle([120, 120, WIDTH - 120, HEIGHT - 120], outline=(245, 240, 228), width=6)
    draw.rectangle([0, int(HEIGHT * 0.62), WIDTH, int(HEIGHT * 0.62) + 16], fill=(245, 240, 228))
    y = 520
    for line in textwrap.wrap(title, 7) or [title]:
        draw.text((WIDTH // 2, y), line, font=_font(190), fill=(250, 247, 240), anchor="ma")
        y += 240
    if subtitle:
        y += 40
        for line in textwrap.wrap(subtitle, 14):
            draw.text((WIDTH // 2, y), line, font=_font(86, "Regular"), fill=(240, 235, 222), anchor="ma")
            y += 120
    draw.text((WIDTH // 2, int(HEIGHT * 0.62) + 140), f"共 {count} 篇", font=_font(80, "Regular"),
              fill=(250, 247, 240), anchor="ma")
    if authors:
        draw.text((WIDTH // 2, HEIGHT - 360), "、".join(authors[:4]), font=_font(70, "Regular"),
                  fill=(250, 247, 240), anchor="ma")
    out = io.BytesIO()
    im.save(out, "JPEG", quality=88)
    return out.getvalue()
