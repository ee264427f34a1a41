"""An EPUB -> what DAISY Ace (the accessibility checker publishers and stores use) says of it.

Ace is a Node program (`npm install -g @daisy/ace`) that opens every document in a headless
Chromium and runs axe-core plus EPUB rules on it. Debian's chromium serves (Puppeteer's own
download is skipped: PUPPETEER_SKIP_DOWNLOAD=1 at install, PUPPETEER_EXECUTABLE_PATH at run).
Each failed assertion becomes one line, `Ace <impact> <rule> <document>: <what>`, the way
EPUBCheck's messages are reported.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import CheckError

CHROMIUMS = ("chromium", "chromium-browser", "google-chrome")
INSTALL = "PUPPETEER_SKIP_DOWNLOAD=1 ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm install -g @daisy/ace; apt-get install chromium"


@dataclass(frozen=True)
class AceTool:
    program: str  # ace-puppeteer
    browser: str  # the Chromium it drives

    def version(self) -> str:
        try:
            run = subprocess.run([self.program, "--version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            return ""
        return run.stdout.strip()


def find_ace() -> AceTool | None:
    """Ace and a Chromium for it, or None when either is missing."""
    program = shutil.which("ace-puppeteer") or shutil.which("ace")
    browser = os.environ.get("PUPPETEER_EXECUTABLE_PATH") or next(filter(None, map(shutil.which, CHROMIUMS)), None)
    return AceTool(program, browser) if program and browser else None


def run_ace(path: Path, tool: AceTool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Ace on one EPUB -> (violations, notes)."""
    env = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=tool.browser)
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run([tool.program, "-f", "-s", "-o", tmp, str(path)], capture_output=True, text=True,
                             timeout=1800, env=env)
        try:
            report = json.loads((Path(tmp) / "report.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise CheckError(f"DAISY Ace did not run: {(run.stderr or run.stdout).strip()[-300:]}", path) from None
    return violations(report), (_summary(report),)


def violations(report: dict) -> tuple[str, ...]:
    """Each failed assertion of an Ace report.json, one line each."""
    found = []
    for document in report.get("assertions", []):
        where = document.get("earl:testSubject", {}).get("url", "")
        for assertion in document.get("assertions", []):
            result = assertion.get("earl:result", {})
            if result.get("earl:outcome") != "fail":
                continue
            test = assertion.get("earl:test", {})
            what = " ".join(str(result.get("dct:description", "")).split())[:200]
            found.append(f"Ace {test.get('earl:impact', '?')} {test.get('dct:title', '?')} {where}: {what}".rstrip(": "))
    return tuple(found)


def _summary(report: dict) -> str:
    revision = report.get("earl:assertedBy", {}).get("doap:release", {}).get("doap:revision", "")
    outcome = report.get("earl:result", {}).get("earl:outcome", "?")
    return f"DAISY Ace {revision}: {outcome}, {len(violations(report))} violation(s)"
