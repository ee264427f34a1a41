"""`publisher serve`: a series -> a live preview in the browser, rebuilt on every save.

    serve        starts the rebuilds (rebuild.py) and the server; on 127.0.0.1 until Ctrl-C, then
                 removes its temporary output
    route        a GET path -> Reply, made from the latest Snapshot (render/preview.py makes the pages)
    Handler      http.server: GET and HEAD only; /_events streams the build versions (SSE)

Safe by default: it listens on loopback unless told otherwise, and URLs never become file
paths: each route names something the current build holds (an episode's name, an asset of the
book, a page of its PDF), so `..`, encoded separators and absolute paths all meet a 404.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from .errors import PublisherError
from .manifest import find_manifest
from .pipeline import BuildOptions
from .rebuild import Preview, Snapshot
from .render import preview as pages

LOOPBACK = ("127.0.0.1", "localhost", "::1")
FIRST_BUILD_WAIT = 120  # seconds a request waits for the first book (a cold build fetches images)
FIRST_PDF_WAIT = 90
KEEP_ALIVE = 15  # seconds between SSE comments, so a closed tab is noticed


@dataclass(frozen=True)
class Reply:
    status: int
    type: str
    body: bytes
    cache: str = "no-store"


HTML, XHTML = "text/html; charset=utf-8", "application/xhtml+xml; charset=utf-8"


def route(preview: Preview, path: str) -> Reply:
    """A request path (without its query) -> the reply, made from the current snapshot. Episode
    names may be Chinese, so the path is decoded first; what it decodes to is only ever looked
    up among the book's names, never opened."""
    try:
        path = unquote(path, errors="strict") if path.isascii() else ""
    except UnicodeDecodeError:
        path = ""
    for pattern, reply in ROUTES:
        if m := pattern.fullmatch(path):
            return reply(preview, preview.wait(lambda s: s.book_version > 0, FIRST_BUILD_WAIT), *m.groups())
    return _missing(preview, preview.snapshot, "没有这一页 (not found)")


def _missing(preview: Preview, s: Snapshot, message: str, status: int = 404) -> Reply:
    book = s.prepared.book if s.prepared else None
    return Reply(status, HTML, pages.missing_page(book, s.theme, s.status(preview.root), message))


def _chapter_of(s: Snapshot, name: str):
    key = next((k for k, n in s.names.items() if n == name), None)
    return next((c for c in s.prepared.book.chapters if c.key == key), None) if s.prepared else None


def _home(preview: Preview, s: Snapshot) -> Reply:
    book = s.prepared.book if s.prepared else None
    return Reply(200, HTML, pages.home_page(book, s.theme, s.status(preview.root), s.pdf))


def _chapter(preview: Preview, s: Snapshot, name: str) -> Reply:
    chapter = _chapter_of(s, name)
    if chapter is None:  # 503 while the build is broken: the page reloads once it is mended
        return _missing(preview, s, f"没有 {name} 这一篇 (no such episode)", 503 if s.error else 404)
    return Reply(200, XHTML, pages.chapter_page(s.prepared.book, chapter, s.theme, s.status(preview.root)))


def _pdf_pages(preview: Preview, s: Snapshot, name: str) -> Reply:
    if s.pdf is None and s.prepared:
        s = preview.wait(lambda s: s.pdf is not None or s.pdf_error, FIRST_PDF_WAIT)
    chapter = _chapter_of(s, name)
    if chapter is None:
        return _missing(preview, s, f"没有 {name} 这一篇 (no such episode)", 503 if s.error else 404)
    return Reply(200, HTML, pages.pages_page(s.prepared.book, chapter, s.theme, s.status(preview.root), s.pdf))


def _page_image(preview: Preview, s: Snapshot, digest: str, number: str) -> Reply:
    view = next((v for v in (s.pdf, s.previous_pdf) if v and v.digest == digest), None)  # a page may be older
    if view is None or not 1 <= int(number) <= len(view.labels):
        return Reply(404, "text/plain; charset=utf-8", b"no such page in the current PDF\n")
    image = pages.page_image(view, int(number) - 1, preview.outdir / "pages")
    return Reply(200, "image/png", image.read_bytes(), "max-age=31536000, immutable")


def _image(preview: Preview, s: Snapshot, key: str) -> Reply:
    asset = s.prepared.book.assets.get(key) if s.prepared else None
    if asset is None:
        return Reply(404, "text/plain; charset=utf-8", b"no such image in the book\n")
    from .render.epub import epub_image  # the e-reader copy, as the EPUB holds it
    data, media_type = epub_image(asset, s.prepared.book, s.prepared.cache)
    return Reply(200, media_type, data, "no-cache")


def _book_pdf(preview: Preview, s: Snapshot) -> Reply:
    if s.pdf is None:
        return _missing(preview, s, "PDF 还在排版 (the PDF is being laid out)", 503)
    return Reply(200, "application/pdf", s.pdf.path.read_bytes())


def _book_css(preview: Preview, s: Snapshot) -> Reply:
    return Reply(200, "text/css; charset=utf-8", s.theme.css("epub.css").encode("utf-8"))


def _preview_css(preview: Preview, s: Snapshot) -> Reply:
    return Reply(200, "text/css; charset=utf-8", s.theme.css("preview.css").encode("utf-8"))


def _live_js(preview: Preview, s: Snapshot) -> Reply:
    return Reply(200, "text/javascript; charset=utf-8", s.theme.path("templates", "preview/live.js").read_bytes())


ROUTES = [(re.compile(pattern), reply) for pattern, reply in (
    (r"/", _home), (r"/book/([\w-]{1,80})\.xhtml", _chapter), (r"/book/style/book\.css", _book_css),
    (r"/book/images/([0-9a-f]{16})", _image), (r"/pdf/([\w-]{1,80})", _pdf_pages),
    (r"/pages/([0-9a-f]{24})/([0-9]{1,5})\.png", _page_image), (r"/book\.pdf", _book_pdf),
    (r"/_preview/preview\.css", _preview_css), (r"/_preview/live\.js", _live_js))]


class Handler(BaseHTTPRequestHandler):
    server_version = "publisher-preview"
    # Post text is data: no script but ours, nothing from elsewhere (images come from the cache).
    SECURITY = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                           "object-src 'none'; frame-ancestors 'none'"}

    def do_GET(self):
        self._answer(send_body=True)

    def do_HEAD(self):
        self._answer(send_body=False)

    def _refuse(self):
        self._send(Reply(405, "text/plain; charset=utf-8", b"the preview only answers GET and HEAD\n"), True,
                   {"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse

    def _answer(self, send_body: bool):
        if not self.server.host_allowed(self.headers.get("Host", "")):  # DNS rebinding: a page elsewhere
            return self._send(Reply(421, "text/plain; charset=utf-8", b"unexpected Host header\n"), send_body)
        path = self.path.split("?", 1)[0]
        if path == "/_events":
            return self._events(send_body)
        try:
            reply = route(self.server.preview, path)
        except Exception as exc:  # noqa: BLE001 - one failed page must not stop the preview
            reply = Reply(500, "text/plain; charset=utf-8", f"preview error: {type(exc).__name__}: {exc}\n".encode())
        self._send(reply, send_body)

    def _send(self, reply: Reply, send_body: bool, extra: dict | None = None):
        self.send_response(reply.status)
        headers = {"Content-Type": reply.type, "Content-Length": str(len(reply.body)), "Cache-Control": reply.cache,
                   **self.SECURITY, **(extra or {})}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(reply.body)

    def _events(self, send_body: bool):
        """Server-Sent Events (HTML Living Standard §9.2): the build versions now, then at each
        new build; a comment every KEEP_ALIVE s finds closed tabs."""
        preview = self.server.preview
        self.send_response(200)
        for name, value in {"Content-Type": "text/event-stream", "Cache-Control": "no-store", **self.SECURITY}.items():
            self.send_header(name, value)
        self.end_headers()
        seen = None
        while send_body:
            s = preview.wait(lambda s: (s.book_version, s.pdf_version) != seen, KEEP_ALIVE)
            if s.stopping:
                return
            now = (s.book_version, s.pdf_version)
            chunk = f"retry: 1000\ndata: {json.dumps({'book': now[0], 'pdf': now[1]})}\n\n" if now != seen else ": alive\n\n"
            seen = now
            try:
                self.wfile.write(chunk.encode())
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, format, *args):  # noqa: A002 - the preview's console is for the build
        pass


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True  # open live-reload streams must not hold Ctrl-C up

    def __init__(self, host: str, port: int, preview: Preview):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.preview, self.loopback = preview, host in LOOPBACK
        super().__init__((host, port), Handler)

    def handle_error(self, request, client_address):
        """A browser that leaves a page while it loads (a reload does) is no error to print."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def host_allowed(self, header: str) -> bool:
        """On loopback, only requests addressed to loopback: a web page elsewhere whose name
        was rebound to 127.0.0.1 must not read the preview."""
        name = re.sub(r":\d+$", "", header.strip().lower()).strip("[]")
        return not self.loopback or name in LOOPBACK


def serve(series: Path, host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False,
          options: BuildOptions | None = None, echo=print) -> int:
    """Build (with `options`: offline, edition; the formats are the preview's), serve and watch
    until Ctrl-C (or SIGTERM); 0 when stopped."""
    manifest = find_manifest(series)
    outdir = Path(tempfile.mkdtemp(prefix="publisher-preview-"))
    preview = Preview(manifest, outdir, echo, options or BuildOptions())
    try:
        server = PreviewServer(host, port, preview)
    except OSError as exc:
        shutil.rmtree(outdir, ignore_errors=True)
        hint = f" (try --port {port + 1}, or --port 0 for any free one)" if exc.errno == 98 else ""
        raise PublisherError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from None
    stop = threading.Event()
    # Ctrl-C reaches the whole process group: the PDF's layout processes (forked) ignore it, so
    # it prints no traceback from them, and this process ends them with SIGTERM when it stops.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    os.register_at_fork(after_in_child=_child_signals)
    workers = [threading.Thread(target=server.serve_forever, daemon=True)] + [
        threading.Thread(target=loop, daemon=True) for loop in (preview.book_loop, preview.pdf_loop, preview.watch_loop)]
    for worker in workers:
        worker.start()
    shown = host if host not in ("0.0.0.0", "::") else "127.0.0.1"
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{server.server_address[1]}/"
    if not server.loopback:
        echo(f"warning: listening on {host}, not loopback: anyone who can reach this machine can read the preview")
    echo(f"previewing {manifest.parent.name} at {url} (Ctrl-C to stop)")
    if open_browser:
        import webbrowser
        webbrowser.open(url)
    while not stop.wait(0.5):
        pass
    echo("stopping")
    try:
        return _stop(preview, server, workers[1:], outdir)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(preview: Preview, server: PreviewServer, builders: list[threading.Thread], outdir: Path) -> int:
    """Stop serving and building, remove the temporary output; 0."""
    preview.stop()
    server.shutdown()
    server.server_close()
    for builder in builders:
        builder.join(1)
    if any(builder.is_alive() for builder in builders):
        for child in multiprocessing.active_children():  # a layout in progress: its pool's processes
            child.terminate()
        for builder in builders:
            builder.join(2)
    shutil.rmtree(outdir, ignore_errors=True)
    if any(builder.is_alive() for builder in builders):
        # a build still running (an image download): concurrent.futures would wait for it at exit
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def _child_signals() -> None:
    """In a forked layout process: Ctrl-C is for the preview to handle, SIGTERM ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
