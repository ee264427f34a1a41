"""Image bytes -> a verdict (format from the bytes, size, pixel limit) and copies for a format.

`inspect` decides the type from magic bytes, never from Content-Type, and refuses a
decompression bomb from its header alone, before any pixel is decoded. `for_epub` makes the
e-reader copy: long edge within `max_image`, WebP/AVIF/TIFF/BMP to JPEG or PNG, CMYK to RGB,
animated GIFs kept as they are.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

from .urls import ImageRejected

Image.MAX_IMAGE_PIXELS = None  # we check the declared size ourselves, before decoding

MAGIC = [
    (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"), (b"BM", "image/bmp"), (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"),
]


@dataclass(frozen=True)
class ImageInfo:
    type: str
    width: int
    height: int


def sniff(data: bytes) -> str | None:
    for magic, kind in MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


def inspect(data: bytes, max_pixels: int) -> ImageInfo:
    kind = sniff(data)
    if kind is None:
        head = data[:200].lstrip().lower()
        if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")) or b"<html" in head:
            raise ImageRejected("not an image (an HTML page)")
        raise ImageRejected("not an image (unknown or damaged bytes)" if data else "not an image (empty response)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im = Image.open(io.BytesIO(data))
            width, height = im.size
            if width * height > max_pixels:
                raise ImageRejected(f"too many pixels ({width}x{height}, limit {max_pixels:,})")
            im.load()
    except ImageRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds for damaged data
        raise ImageRejected(f"damaged image ({type(exc).__name__})") from None
    return ImageInfo(kind, width, height)


def for_epub(data: bytes, info: ImageInfo, max_edge: int, quality: int) -> tuple[bytes, str]:
    """The e-reader copy of an image: (bytes, media type)."""
    fits = max(info.width, info.height) <= max_edge
    if info.type == "image/gif" and (fits or _animated(data)):
        return data, "image/gif"
    im = Image.open(io.BytesIO(data))
    if info.type in ("image/jpeg", "image/png") and fits and im.mode not in ("CMYK", "I;16", "I", "F"):
        return data, info.type
    im = ImageOps.exif_transpose(im)
    if not fits:
        im.thumbnail((max_edge, max_edge), Image.LANCZOS)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or im.mode == "P" and "transparency" in im.info
    out = io.BytesIO()
    if has_alpha or info.type in ("image/png", "image/gif") and im.mode in ("P", "L", "1"):
        im = im.convert("RGBA" if has_alpha else "RGB") if im.mode not in ("P", "L", "RGBA", "RGB") else im
        im.save(out, "PNG", optimize=False)
        return out.getvalue(), "image/png"
    im = im.convert("RGB")
    im.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue(), "image/jpeg"


def _animated(data: bytes) -> bool:
    try:
        return getattr(Image.open(io.BytesIO(data)), "is_animated", False)
    except Exception:  # noqa: BLE001
        return False


def for_pdf(data: bytes, info: ImageInfo, lossless: bool) -> tuple[bytes, str]:
    """The copy WeasyPrint embeds fastest: JPEG passes straight into the PDF, anything else is
    decoded and re-encoded twice. Screen PDFs get opaque images as high-quality JPEG (4:4:4);
    press PDFs keep PNG lossless. Animated GIFs give their first frame."""
    if info.type == "image/jpeg":
        im = Image.open(io.BytesIO(data))
        if im.mode in ("RGB", "L", "CMYK"):
            return data, "image/jpeg"
    im = Image.open(io.BytesIO(data))
    im.seek(0)
    im = ImageOps.exif_transpose(im)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    out = io.BytesIO()
    if has_alpha or lossless:
        if info.type == "image/png" and im.mode in ("RGB", "RGBA", "L", "LA"):
            return data, "image/png"
        im.convert("RGBA" if has_alpha else "RGB").save(out, "PNG", compress_level=1)
        return out.getvalue(), "image/png"
    im.convert("RGB").save(out, "JPEG", quality=92, subsampling=0)
    return out.getvalue(), "image/jpeg"
