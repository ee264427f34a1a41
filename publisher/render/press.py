"""[print] settings -> the press file's mechanics: colour, marks in the slug, signatures, intent.

- colour: one CMYK output profile (the shop's `[print] icc`, else one Debian ships); every
  colour of the theme's stylesheets rewritten as `device-cmyk()` (`cmyk_css`: greys as K tints,
  near-black as solid K, other colours through the profile), then the theme's press.css layered
  after them (what the theme says its colours are in ink; body text 100% K); every photo
  converted to the profile's CMYK with Pillow's ImageCms, total ink capped at `[print] max-ink`.
  Neutral images (screenshots of text, greyscale photos) go to DeviceGray: the black plate only.
- marks: crop marks (and registration marks, and a slug line naming book, date and page) in
  100% K, in a slug beyond the bleed; the MediaBox grows by the slug, TrimBox and BleedBox stay
  as WeasyPrint wrote them.
- signatures: the page count padded with blank pages to `[print] pages-multiple`.
- output intent: GTS_PDFX with the profile embedded and the condition identifier
  (ISO 15930-7 §6.2.4), written once for the book by the assembler.

Why convert photos rather than keep them as ICC-based RGB (which PDF/X-4 allows): the file then
says exactly what ink goes on paper, the ink limit holds (a RIP's own RGB conversion may put
330% in the shadows), and what the preflight measures is what the shop prints.
"""
from __future__ import annotations

import hashlib
import io
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import tinycss2
import tinycss2.color4
from PIL import Image, ImageChops, ImageCms, ImageMath, ImageOps

from ..book import Asset
from ..errors import PublisherError
from ..files import atomic_write
from ..images.cache import ImageCache

if TYPE_CHECKING:
    from ..manifest import PressSettings

PT_PER_MM = 72 / 25.4
# Debian's ghostscript package ships these CMYK characterisations (ENGINES.md).
DEBIAN_PROFILES = ("/usr/share/color/icc/ghostscript/default_cmyk.icc", "/usr/share/color/icc/ghostscript/ps_cmyk.icc")
MARK_WIDTH = 0.25  # points: the hairline print shops expect of crop marks
MARK_GAP_MM = 1.0  # between the bleed edge and a mark, so no mark reaches into the bleed
SLUG_LINE_AT_MM = (20.0, 2.5)  # the slug line's start: from the trim's left edge, below the bleed
NEUTRAL_TOLERANCE = 3  # channel difference (of 255) under which an RGB image counts as grey
SOLID_BLACK = 0x22 / 255  # greys this dark are set in solid K: a 93% screen frays the edges of type
COLOUR_PROPERTIES = ("color", "background", "border", "outline", "text-decoration", "column-rule", "box-shadow")
IMAGE_VERSION = 4  # in the converted files' names: parts embed them by name, so a change needs a new one
JPEG_SLACK = 20  # percent: a photo this far under the ink limit stays under it through JPEG coding


@dataclass(frozen=True)
class PressPlan:
    """Everything the press file needs decided before layout."""

    profile: Path
    condition: str  # OutputConditionIdentifier
    description: str  # the profile's own description (the intent's /Info)
    max_ink: int
    bleed_mm: float
    slug_mm: float
    marks: tuple[str, ...]
    pages_multiple: int
    profile_digest: str  # names the photos converted with this profile


def press_plan(settings: PressSettings, bleed_mm: float) -> PressPlan:
    """The [print] settings resolved: the profile found, its description read."""
    profile = settings.icc or next((Path(p) for p in DEBIAN_PROFILES if Path(p).is_file()), None)
    if profile is None:
        raise PublisherError("no CMYK output profile: install Debian's ghostscript package "
                             "(apt-get install ghostscript) or set [print] icc in series.toml")
    description = ImageCms.getProfileDescription(ImageCms.getOpenProfile(str(profile))).strip()
    return PressPlan(profile, settings.condition or description, description, settings.max_ink, bleed_mm,
                     settings.slug, settings.marks, settings.pages_multiple,
                     hashlib.sha256(profile.read_bytes()).hexdigest()[:16])


def padding(pages: int, multiple: int) -> int:
    """Blank pages to add so that `pages` fills whole signatures of `multiple` pages."""
    return -pages % multiple


# ---- photos -------------------------------------------------------------------------------

def press_images(assets: dict[str, Asset], cache: ImageCache, plan: PressPlan, workers: int) -> dict[str, Path]:
    """Every asset's press file (see `press_image`), converted in `workers` threads: Pillow
    releases the GIL while it transforms colour and codes JPEG (measured: 2 threads, 1.9x)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        paths = list(pool.map(lambda asset: press_image(asset, cache, plan), assets.values()))
    return dict(zip(assets, paths))


def press_image(asset: Asset, cache: ImageCache, plan: PressPlan) -> Path:
    """The file WeasyPrint embeds for an asset in the press file: DeviceGray for neutral
    images, else CMYK JPEG in the output profile, ink limited; made once, kept in the cache."""
    # named by the photo first: the cache shards derived files by their first two characters
    stem = f"{asset.sha256}-press{IMAGE_VERSION}-{plan.profile_digest}-{plan.max_ink}"
    for ext in (".jpg", ".png"):
        if (done := cache.derived(stem + ext)).is_file():
            return done
    data, ext = convert_for_press(cache.read(asset.sha256), plan, line_art=asset.type != "image/jpeg")
    target = cache.derived(stem + ext)
    atomic_write(target, data)
    return target


def convert_for_press(data: bytes, plan: PressPlan, line_art: bool) -> tuple[bytes, str]:
    """Image bytes -> (bytes, extension) of a grey PNG/JPEG or a CMYK JPEG. Transparency is
    flattened on white, as it lands on paper. Line art (PNG, GIF sources) keeps full chroma
    resolution (4:4:4) and a high quality so edges stay sharp."""
    im = Image.open(io.BytesIO(data))
    im.seek(0)
    im = ImageOps.exif_transpose(im)
    if im.mode in ("RGBA", "LA", "PA", "P") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        im = Image.new("RGB", rgba.size, (255, 255, 255))
        im.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    if im.mode in ("L", "1", "I", "I;16") or (im.mode == "RGB" and _neutral(im)):
        if line_art:
            im.convert("L").save(out, "PNG", compress_level=6)
            return out.getvalue(), ".png"
        im.convert("L").save(out, "JPEG", quality=92)
        return out.getvalue(), ".jpg"
    cmyk = im if im.mode == "CMYK" else to_cmyk(im.convert("RGB"), plan.profile)
    return cmyk_jpeg(cmyk, plan.max_ink, quality=95 if line_art else 92), ".jpg"


def cmyk_jpeg(cmyk: Image.Image, max_ink: int, quality: int) -> bytes:
    """A CMYK JPEG whose decoded pixels stay within `max_ink`. JPEG's rounding raises a photo's
    largest total by up to 12% at quality 92 (measured on the corpus' photos), so a photo that
    close to the limit is capped below it, and the cap lowered until the decoded file holds."""
    total = total_ink(cmyk)
    out = io.BytesIO()
    if total <= max_ink - JPEG_SLACK:
        cmyk.save(out, "JPEG", quality=quality, subsampling=0)
        return out.getvalue()
    for margin in (2, 6, 12, JPEG_SLACK):
        out = io.BytesIO()
        (cmyk if total <= max_ink - margin else limit_ink(cmyk, max_ink - margin)).save(
            out, "JPEG", quality=quality, subsampling=0)
        if total_ink(Image.open(io.BytesIO(out.getvalue()))) <= max_ink:
            break
    return out.getvalue()


def total_ink(cmyk: Image.Image) -> float:
    """The largest C+M+Y+K of a CMYK image's pixels, percent."""
    c, m, y, k = cmyk.split()
    total = ImageMath.lambda_eval(lambda a: a["c"] + a["m"] + a["y"] + a["k"], c=c, m=m, y=y, k=k)
    return total.getextrema()[1] * 100 / 255


def _neutral(im: Image.Image) -> bool:
    r, g, b = im.split()
    return all(ImageChops.difference(a, c).getextrema()[1] <= NEUTRAL_TOLERANCE for a, c in ((r, g), (g, b)))


# One transform per profile and thread: lcms keeps a one-pixel cache inside each transform that
# cmsDoTransform writes, so a transform is not shared between threads (Little CMS 2 API, §1.2).
_TRANSFORMS = threading.local()


def to_cmyk(im: Image.Image, profile: Path) -> Image.Image:
    """sRGB -> the profile's CMYK, perceptual intent (photos)."""
    transforms = _TRANSFORMS.__dict__.setdefault("by_profile", {})
    if profile not in transforms:
        transforms[profile] = ImageCms.buildTransform(
            ImageCms.createProfile("sRGB"), ImageCms.getOpenProfile(str(profile)), "RGB", "CMYK",
            renderingIntent=ImageCms.Intent.PERCEPTUAL)
    # the transform's own apply() also re-serialises the output profile into the image's info,
    # which lcms cannot do for some profiles Debian ships (ps_cmyk.icc: "Could not determine
    # profile size"); the pixels are all we need
    out = Image.new("CMYK", im.size)
    transforms[profile].transform.apply(im.getim(), out.getim())
    return out


def limit_ink(cmyk: Image.Image, max_ink: int) -> Image.Image:
    """Cap C+M+Y+K at `max_ink` percent by taking C, M and Y down in proportion (black kept:
    it carries the detail). Integer division rounds down, so the cap always holds."""
    limit = max_ink * 255 // 100
    c, m, y, k = cmyk.split()
    factor = ImageMath.lambda_eval(  # per pixel: 1 under the limit, else what C+M+Y may keep
        lambda a: a["min"](a["float"](limit - a["k"]) / a["max"](a["c"] + a["m"] + a["y"], 1), 1.0),
        c=c, m=m, y=y, k=k)

    def capped(channel):
        return ImageMath.lambda_eval(lambda a: a["int"](a["x"] * a["f"]), x=channel, f=factor).convert("L")
    return Image.merge("CMYK", (capped(c), capped(m), capped(y), k))


def rgb_to_cmyk(colour: tuple[int, int, int], plan: PressPlan) -> tuple[float, float, float, float]:
    """One sRGB colour -> CMYK fractions in the output profile, ink limited (for covers)."""
    pixel = limit_ink(to_cmyk(Image.new("RGB", (1, 1), colour), plan.profile), plan.max_ink).getpixel((0, 0))
    return tuple(round(v / 255, 3) for v in pixel)


# ---- stylesheets --------------------------------------------------------------------------

def cmyk_css(css: str, plan: PressPlan) -> str:
    """A stylesheet with every sRGB colour of its colour properties written as device-cmyk(),
    which WeasyPrint 70 draws in DeviceCMYK. Parsed with tinycss2 (WeasyPrint's own CSS parser),
    so selectors, strings and URLs are never touched."""
    rules = tinycss2.parse_stylesheet(css, skip_comments=True)
    return "".join(_rule(rule, plan) for rule in rules)


def _rule(rule, plan: PressPlan) -> str:
    if rule.type not in ("qualified-rule", "at-rule") or rule.content is None:
        return tinycss2.serialize([rule])
    prelude = tinycss2.serialize(rule.prelude)
    head = prelude if rule.type == "qualified-rule" else f"@{rule.at_keyword}{prelude}"
    if rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports", "layer"):
        body = "".join(_rule(r, plan) for r in tinycss2.parse_rule_list(rule.content, skip_comments=True))
    else:
        body = "".join(_item(item, plan) for item in tinycss2.parse_blocks_contents(rule.content, skip_comments=True))
    return f"{head}{{{body}}}\n"


def _item(item, plan: PressPlan) -> str:
    """A declaration (colours converted) or a nested rule (@page's margin boxes)."""
    if item.type == "declaration":
        value = item.value
        if any(word in item.lower_name for word in COLOUR_PROPERTIES):
            value = [_colour_token(token, plan) for token in value]
        important = " !important" if item.important else ""
        return f"{item.name}:{tinycss2.serialize(value)}{important};"
    if item.type in ("qualified-rule", "at-rule"):
        return _rule(item, plan)
    return ""


def _colour_token(token, plan: PressPlan):
    colour = tinycss2.color4.parse_color(token)
    if colour is None or isinstance(colour, str) or colour.space != "srgb" or colour.alpha == 0:
        return token
    c, m, y, k = css_cmyk(tuple(round(v * 255) for v in colour.coordinates), plan)
    alpha = f" / {colour.alpha:g}" if colour.alpha < 1 else ""
    return tinycss2.parse_one_component_value(f"device-cmyk({c:g} {m:g} {y:g} {k:g}{alpha})")


def css_cmyk(rgb: tuple[int, int, int], plan: PressPlan) -> tuple[float, float, float, float]:
    """An sRGB colour of a stylesheet -> CMYK: greys on the black plate alone (near-black as
    solid K), anything with a hue through the output profile, ink limited."""
    if max(rgb) - min(rgb) <= NEUTRAL_TOLERANCE:
        grey = sum(rgb) / 3 / 255
        return (0.0, 0.0, 0.0, 1.0 if grey <= SOLID_BLACK else round(1 - grey, 3))
    return rgb_to_cmyk(rgb, plan)


# ---- marks, slug, intent ------------------------------------------------------------------

@dataclass(frozen=True)
class SlugLine:
    """The slug line's sheet (render/pdf.py lays it out from the theme's pdf/slug.html): page 0
    the text, page d + 1 the digit d, anchors (page, x, y) in CSS px."""

    sheet: object  # RenderedPart
    anchors: dict

    def content(self, number: str, at: tuple[float, float]) -> bytes:
        """Operators drawing the text and then `number` with the sheet's pages as forms
        /PubSlug and /PubSlug0-9, the line's top-left corner at `at` (points)."""
        height = self.sheet.size[1] * 0.75

        def place(name: bytes, anchor: str, x: float) -> bytes:
            _, ax, ay = self.anchors[anchor]
            return b"q 1 0 0 1 %.3f %.3f cm /%s Do Q" % (x - ax * 0.75, at[1] - (height - ay * 0.75), name)
        ops = [place(b"PubSlug", "slug-start", at[0])]
        x = at[0] + (self.anchors["slug-end"][1] - self.anchors["slug-start"][1]) * 0.75
        for digit in number:
            ops.append(place(b"PubSlug" + digit.encode(), f"o{digit}", x))
            x += (self.anchors[f"e{digit}"][1] - self.anchors[f"s{digit}"][1]) / 10 * 0.75
        return b"\n".join(ops) + b"\n"


@dataclass(frozen=True)
class Dressing:
    """What the assembler adds to every page of a press file (all pages share one size)."""

    media_box: bytes  # the BleedBox grown by the slug
    marks: bytes  # content stream drawing the marks, in default user space
    multiple: int  # pad the page count to this
    profile: bytes
    condition: str
    description: str
    slug_line: SlugLine | None = None
    slug_line_at: tuple[float, float] = (0.0, 0.0)  # points: the line's top-left corner

    def intents(self, writer) -> bytes:
        """The /OutputIntents array, its profile written as a stream of `writer`."""
        from pikepdf import String
        stream = writer.new_stream(b" /N 4", self.profile)
        return (b"[<< /Type /OutputIntent /S /GTS_PDFX /OutputConditionIdentifier " + String(self.condition).unparse()
                + b" /Info " + String(self.description).unparse() + b" /RegistryName (http://www.color.org) "
                + b"/DestOutputProfile %d 0 R >>]" % stream)


def dressing(plan: PressPlan, trim: tuple[float, float, float, float], slug_line: SlugLine | None = None) -> Dressing:
    """The dressing of pages whose TrimBox is `trim` (points)."""
    bleed, slug = plan.bleed_mm * PT_PER_MM, plan.slug_mm * PT_PER_MM
    x0, y0, x1, y1 = trim
    box = (x0 - bleed - slug, y0 - bleed - slug, x1 + bleed + slug, y1 + bleed + slug)
    gap = min(SLUG_LINE_AT_MM[1], max(0.3, (plan.slug_mm - 6 / PT_PER_MM) / 2))  # a 6 pt line in any slug
    at = (x0 + SLUG_LINE_AT_MM[0] * PT_PER_MM, y0 - bleed - gap * PT_PER_MM)
    return Dressing(b"[%s]" % b" ".join(b"%.4f" % v for v in box), marks_content(trim, bleed, slug, plan.marks),
                    plan.pages_multiple, plan.profile.read_bytes(), plan.condition, plan.description,
                    slug_line if "slug" in plan.marks else None, at)


def marks_content(trim, bleed: float, slug: float, marks: tuple[str, ...], folds: tuple[float, ...] = ()) -> bytes:
    """Crop marks at the trim corners (and fold marks at `folds`, x positions), drawn from
    MARK_GAP_MM beyond the bleed to 1 mm short of the media edge; registration targets centred
    in the slug on each side. All in 100% K (0 0 0 1 K)."""
    x0, y0, x1, y1 = trim
    near, far = bleed + MARK_GAP_MM * PT_PER_MM, bleed + slug - PT_PER_MM
    lines = []
    if "crop" in marks:
        for x, sx in ((x0, -1), (x1, 1)):
            for y, sy in ((y0, -1), (y1, 1)):
                lines.append(((x + sx * near, y), (x + sx * far, y)))
                lines.append(((x, y + sy * near), (x, y + sy * far)))
        for x in folds:
            lines += [((x, y0 - near), (x, y0 - far)), ((x, y1 + near), (x, y1 + far))]
    ops = [b"q 0 0 0 1 K %.2f w 0 J [] 0 d" % MARK_WIDTH]
    ops += [b"%.3f %.3f m %.3f %.3f l S" % (a[0], a[1], b[0], b[1]) for a, b in lines]
    if "registration" in marks:
        middle = bleed + slug / 2
        radius = min(slug / 2 - PT_PER_MM, 2.5 * PT_PER_MM)
        for cx, cy in (((x0 + x1) / 2, y0 - middle), ((x0 + x1) / 2, y1 + middle),
                       (x0 - middle, (y0 + y1) / 2), (x1 + middle, (y0 + y1) / 2)):
            ops.append(_target(cx, cy, radius))
    ops.append(b"Q")
    return b"\n".join(ops) + b"\n"


def _target(cx: float, cy: float, r: float) -> bytes:
    """A registration target: a circle (four Bezier quarters, kappa 0.5523) and a cross."""
    k = r * 4 * (math.sqrt(2) - 1) / 3
    circle = (b"%.3f %.3f m " % (cx + r, cy)
              + b"%.3f %.3f %.3f %.3f %.3f %.3f c " % (cx + r, cy + k, cx + k, cy + r, cx, cy + r)
              + b"%.3f %.3f %.3f %.3f %.3f %.3f c " % (cx - k, cy + r, cx - r, cy + k, cx - r, cy)
              + b"%.3f %.3f %.3f %.3f %.3f %.3f c " % (cx - r, cy - k, cx - k, cy - r, cx, cy - r)
              + b"%.3f %.3f %.3f %.3f %.3f %.3f c h S" % (cx + k, cy - r, cx + r, cy - k, cx + r, cy))
    cross = b" %.3f %.3f m %.3f %.3f l %.3f %.3f m %.3f %.3f l S" % (
        cx - r * 1.4, cy, cx + r * 1.4, cy, cx, cy - r * 1.4, cx, cy + r * 1.4)
    return circle + cross
