"""A PDF presented as a press file -> what a print shop's preflight would refuse, page by page.

Reads the file with pikepdf and walks every page's content (and the forms it draws) with a
small graphics-state interpreter: colour operators, colour spaces (named resources, Indexed,
ICC), images, shadings and transparency groups; the text shown and in which colour; where each
image lands (its resolution at placed size). Refused: DeviceRGB anywhere, rich-black text
(black text on more plates than K, ISO 12647-2 registration), ink over the limit (vector
colours and CMYK images), missing TrimBox/BleedBox, bleed or slug under 3 mm, a page count off
the signature multiple, no PDF/X output intent. Images under the resolution limit are warned
about (web images placed at their own size print at 96 ppi; `strict` refuses them too).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pikepdf
from pikepdf import Name

from .render.press import total_ink

MM = 72 / 25.4
SHOWN = 5  # pages listed per problem
IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True)
class PressLimits:
    max_ink: int = 300  # percent
    min_ppi: int = 300
    pages_multiple: int = 4
    min_bleed_mm: float = 3.0
    min_slug_mm: float = 3.0


@dataclass
class _Findings:
    """Problem (or warning) -> {page number: first detail seen there}."""

    problems: dict = field(default_factory=dict)
    warnings: dict = field(default_factory=dict)

    def add(self, what: str, page: int, detail: str, warning: bool = False) -> None:
        (self.warnings if warning else self.problems).setdefault(what, {}).setdefault(page, detail)

    @staticmethod
    def lines(found: dict) -> list[str]:
        out = []
        for what, pages in found.items():
            if list(pages) == [0]:  # about the whole document
                out.append(f"{what} {pages[0]}".strip())
                continue
            listed = "; ".join(f"p{page} {detail}".strip() for page, detail in list(pages.items())[:SHOWN])
            more = f" … and {len(pages) - SHOWN} more page(s)" if len(pages) > SHOWN else ""
            out.append(f"{what} on {len(pages)} page(s): {listed}{more}")
        return out


def preflight(pdf: pikepdf.Pdf, limits: PressLimits = PressLimits()) -> tuple[list[str], list[str]]:
    """(problems, warnings) of an open PDF as a press file."""
    found = _Findings()
    _check_document(pdf, limits, found)
    walker = _Walker(limits, found)
    for number, page in enumerate(pdf.pages, 1):
        _check_boxes(page, number, limits, found)
        group = page.obj.get("/Group")
        if isinstance(group, pikepdf.Dictionary) and walker.space(group.get("/CS"), None) == "rgb":
            found.add("DeviceRGB colour (transparency group)", number, "")
        walker.walk(page, page.obj.get("/Resources", pikepdf.Dictionary()), number)
        _check_annotations(page, number, found)
    return found.lines(found.problems), found.lines(found.warnings)


def _check_document(pdf: pikepdf.Pdf, limits: PressLimits, found: _Findings) -> None:
    count = len(pdf.pages)
    if pdf.pdf_version > "1.6":  # compared as strings: versions run 1.0-1.7, then 2.0
        found.add(f"PDF {pdf.pdf_version}: a PDF/X-4 file is PDF 1.6 or older (ISO 15930-7)", 0, "")
    if count % limits.pages_multiple:
        found.add(f"page count {count} is not a multiple of {limits.pages_multiple} (signatures)", 0,
                  f"pad with {-count % limits.pages_multiple} blank page(s)")
    intents = [i for i in pdf.Root.get("/OutputIntents", []) if i.get("/S") == Name.GTS_PDFX]
    profile = intents[0].get("/DestOutputProfile") if intents else None
    if profile is None or int(profile.get("/N", 0)) != 4:
        found.add("no PDF/X output intent with a CMYK profile", 0, "")
    elif not str(intents[0].get("/OutputConditionIdentifier", "")):
        found.add("the output intent has no OutputConditionIdentifier", 0, "")
    xmp = pdf.Root.Metadata.read_bytes() if "/Metadata" in pdf.Root else b""
    if b"GTS_PDFXVersion" not in xmp and "/GTS_PDFXVersion" not in pdf.docinfo:
        found.add("no GTS_PDFXVersion (Info or XMP)", 0, "")


def _check_boxes(page, number: int, limits: PressLimits, found: _Findings) -> None:
    def box(key):
        value = page.obj.get(key)
        return [float(v) for v in value] if value is not None else None
    media, trim, bleed = box("/MediaBox"), box("/TrimBox"), box("/BleedBox")
    if trim is None or bleed is None:
        found.add("TrimBox or BleedBox missing", number, "")
        return
    bleed_mm = min(trim[0] - bleed[0], trim[1] - bleed[1], bleed[2] - trim[2], bleed[3] - trim[3]) / MM
    slug_mm = min(bleed[0] - media[0], bleed[1] - media[1], media[2] - bleed[2], media[3] - bleed[3]) / MM
    if bleed_mm < limits.min_bleed_mm - 0.05:
        found.add(f"bleed under {limits.min_bleed_mm:g} mm", number, f"({bleed_mm:.1f} mm)")
    if slug_mm < limits.min_slug_mm - 0.05:
        found.add(f"no slug of {limits.min_slug_mm:g} mm for the marks beyond the bleed", number,
                  f"({slug_mm:.1f} mm)")


def _check_annotations(page, number: int, found: _Findings) -> None:
    """Annotations on the printed area other than printer's marks and trap networks, which
    PDF/X reserves it for (ISO 15930-7 §6.3.3); a warning: most are links a RIP ignores."""
    bleed = [float(v) for v in page.obj.get("/BleedBox", page.MediaBox)]
    for annotation in page.obj.get("/Annots", []):
        kind = str(annotation.get("/Subtype", ""))
        x0, y0, x1, y1 = (float(v) for v in annotation.get("/Rect", [0, 0, 0, 0]))
        inside = x0 < bleed[2] and x1 > bleed[0] and y0 < bleed[3] and y1 > bleed[1]
        if inside and kind not in ("/PrinterMark", "/TrapNet"):
            found.add("annotations on the printed area", number, f"({kind[1:]})", warning=True)


def _mul(a, b):
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
            a[2] * b[1] + a[3] * b[3], a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])


class _Walker:
    """Walks content streams, reporting into `found` (ISO 32000 §8.4, §8.6, §9.4)."""

    def __init__(self, limits: PressLimits, found: _Findings):
        self.limits, self.found = limits, found
        self.image_ink: dict = {}  # objgen -> max total ink of a CMYK image, percent

    def space(self, cs, resources, depth: int = 0) -> str:
        """'rgb', 'cmyk', 'gray', 'icc3', 'icc4', 'icc1', 'indexed', 'other' for a colour space."""
        if cs is None or depth > 4:
            return "other"
        if isinstance(cs, Name):
            name = str(cs)
            simple = {"/DeviceRGB": "rgb", "/RGB": "rgb", "/DeviceCMYK": "cmyk", "/CMYK": "cmyk",
                      "/DeviceGray": "gray", "/G": "gray"}
            if name in simple:
                return simple[name]
            named = resources.get("/ColorSpace", {}) if resources is not None else {}
            return self.space(named[name], resources, depth + 1) if name in named else "other"
        if isinstance(cs, pikepdf.Array) and len(cs):
            family = str(cs[0])
            if family == "/ICCBased":
                return f"icc{int(cs[1].get('/N', 0))}"
            if family in ("/Indexed", "/I"):
                return "rgb" if self.space(cs[1], resources, depth + 1) == "rgb" else "indexed"
        return "other"

    def walk(self, source, resources, page: int, ctm=IDENTITY, depth: int = 0) -> None:
        state = {"ctm": ctm, "fill": ("gray", (0.0,)), "stroke": ("gray", (0.0,))}
        stack = []
        for operands, op in pikepdf.parse_content_stream(source):
            o = str(op)
            if o == "q":
                stack.append(dict(state))
            elif o == "Q" and stack:
                state = stack.pop()
            elif o == "cm":
                state["ctm"] = _mul(tuple(float(v) for v in operands), state["ctm"])
            elif o in ("g", "G", "rg", "RG", "k", "K"):
                self._colour(state, page, {"g": "gray", "rg": "rgb", "k": "cmyk"}[o.lower()],
                             tuple(float(v) for v in operands), o.isupper(), o)
            elif o in ("cs", "CS"):
                kind = self.space(operands[0], resources)
                self._colour(state, page, kind, (0.0,) * {"cmyk": 3, "rgb": 3}.get(kind, 1) + (
                    (1.0,) if kind == "cmyk" else ()), o == "CS", f"{o} {operands[0]}")
            elif o in ("sc", "scn", "SC", "SCN"):
                key = "stroke" if o.isupper() else "fill"
                values = tuple(float(v) for v in operands if not isinstance(v, Name))
                self._colour(state, page, state[key][0], values, o.isupper(), o)
            elif o in ("Tj", "TJ", "'", '"'):
                self._text(state, page)
            elif o == "Do":
                self._xobject(resources, operands[0], state["ctm"], page, depth)
            elif o == "INLINE IMAGE":
                if self.space(operands[0].obj.get("/ColorSpace", operands[0].obj.get("/CS")), resources) == "rgb":
                    self.found.add("DeviceRGB colour (inline image)", page, "")
            elif o == "sh":
                shading = resources.get("/Shading", {}).get(str(operands[0]))
                if shading is not None and self.space(shading.get("/ColorSpace"), resources) == "rgb":
                    self.found.add("DeviceRGB colour (shading)", page, "")

    def _colour(self, state, page: int, kind: str, values: tuple, stroke: bool, op: str) -> None:
        state["stroke" if stroke else "fill"] = (kind, values)
        if kind == "rgb":
            self.found.add("DeviceRGB colour (rg/RG operators, RGB colour spaces)", page, f"({op})")
        elif kind == "cmyk" and len(values) == 4 and sum(values) * 100 > self.limits.max_ink + 0.5:
            self.found.add(f"ink over {self.limits.max_ink}%", page, f"(CMYK {' '.join(f'{v:g}' for v in values)})")

    def _text(self, state, page: int) -> None:
        kind, values = state["fill"]
        if kind == "cmyk" and len(values) == 4 and values[3] >= 0.8 and sum(values[:3]) > 0.05:
            self.found.add("rich-black text (black on several plates)", page,
                           f"(CMYK {' '.join(f'{v:g}' for v in values)})")
        elif kind == "rgb" and len(values) == 3 and max(values) < 0.3:
            self.found.add("rich-black text (near-black RGB becomes four-colour black)", page,
                           f"(RGB {' '.join(f'{v:g}' for v in values)})")

    def _xobject(self, resources, name, ctm, page: int, depth: int) -> None:
        xobject = resources.get("/XObject", {}).get(str(name)) if resources is not None else None
        if xobject is None:
            return
        if xobject.get("/Subtype") == Name.Form and depth < 10:
            group = xobject.get("/Group")
            if isinstance(group, pikepdf.Dictionary) and self.space(group.get("/CS"), None) == "rgb":
                self.found.add("DeviceRGB colour (transparency group)", page, "")
            matrix = tuple(float(v) for v in xobject.get("/Matrix", IDENTITY))
            self.walk(xobject, xobject.get("/Resources", resources), page, _mul(matrix, ctm), depth + 1)
        elif xobject.get("/Subtype") == Name.Image and not xobject.get("/ImageMask", False):
            self._image(xobject, ctm, page, str(name))

    def _image(self, image, ctm, page: int, name: str) -> None:
        kind = self.space(image.get("/ColorSpace"), None)
        if kind == "rgb":
            self.found.add("DeviceRGB colour (images)", page, f"({name})")
        elif kind == "cmyk":
            ink = self._image_ink(image)
            if ink is not None and ink > self.limits.max_ink + 0.5:
                self.found.add(f"ink over {self.limits.max_ink}%", page, f"(image {name}: {ink:.0f}%)")
        placed_w = (ctm[0] ** 2 + ctm[1] ** 2) ** 0.5 / 72  # inches: images are drawn in a unit square
        placed_h = (ctm[2] ** 2 + ctm[3] ** 2) ** 0.5 / 72
        if placed_w and placed_h:
            ppi = min(int(image.Width) / placed_w, int(image.Height) / placed_h)
            if ppi < self.limits.min_ppi - 0.5:
                self.found.add(f"images under {self.limits.min_ppi} ppi", page, f"({name}: {ppi:.0f} ppi)", warning=True)

    def _image_ink(self, image) -> float | None:
        """The largest C+M+Y+K of a CMYK image's pixels, percent (decoded once per image)."""
        key = image.objgen
        if key not in self.image_ink:
            try:
                pil = pikepdf.PdfImage(image).as_pil_image()
            except Exception:  # noqa: BLE001 - an image pikepdf cannot decode is not measured
                self.image_ink[key] = None
                return None
            self.image_ink[key] = total_ink(pil) if pil.mode == "CMYK" else None
        return self.image_ink[key]
