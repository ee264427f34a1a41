"""Image localization against a real HTTP server on 127.0.0.1: every fault, the SSRF guard in
every spelling, the cache (reuse, damage, offline) and the mirror folder."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from publisher.images import localize
from publisher.images.cache import ImageCache
from publisher.images.process import ImageInfo, for_epub, inspect
from publisher.images.urls import image_url, refuse_reason, unwrap_url
from publisher.manifest import ImageSettings

from conftest import image_bytes


def settings(**kw):
    kw.setdefault("allow_hosts", ("127.0.0.1",))  # the test server lives on loopback
    kw.setdefault("timeout", 1.5)
    return ImageSettings(**kw)


def test_good_images_fetched_once_and_cached(image_server, tmp_path):
    cache = ImageCache(tmp_path / "c")
    urls = [image_server.url_for(p) for p in ("/ok.png", "/ok.jpg", "/ok.gif", "/moved.png")]
    first = localize(urls + urls[:1], settings(), cache)
    assert not first.failed and first.count("fetched") == 4
    assert {i.type for i in first.images.values()} == {"image/png", "image/jpeg", "image/gif"}
    assert first.images[urls[3]].sha256 == first.images[urls[0]].sha256  # the redirect lands on ok.png
    served = len(image_server.log)
    second = localize(urls, settings(), cache)
    assert second.count("cached") == 4 and len(image_server.log) == served  # nothing requested again


@pytest.mark.parametrize("path, reason", [
    ("/missing.png", "HTTP 404"), ("/garbage.jpg", "not an image"), ("/page.jpg", "HTML page"),
    ("/bomb.png", "too many pixels"), ("/slow.png", "timeout"), ("/to-private.png", "blocked address"),
    ("/loop.png", "redirects"), ("/error.png", "HTTP 503"),
])
def test_each_fault_fails_with_a_human_reason(image_server, tmp_path, path, reason):
    url = image_server.url_for(path)
    result = localize([url], settings(), ImageCache(tmp_path))
    assert reason in result.failed[url]


def test_server_errors_are_retried_but_not_404(image_server, tmp_path):
    localize([image_server.url_for("/error.png"), image_server.url_for("/missing.png")], settings(), ImageCache(tmp_path))
    paths = [req.path for req, _ in image_server.log]
    assert paths.count("/error.png") == 3 and paths.count("/missing.png") == 1


def test_size_cap(image_server, tmp_path):
    url = image_server.url_for("/huge.png")
    assert "cap" in localize([url], settings(max_bytes=100_000), ImageCache(tmp_path)).failed[url]


SPELLINGS = ["127.0.0.1", "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "[::1]", "[::ffff:127.0.0.1]",
             "localhost", "LOCALHOST", "foo.localhost", "0.0.0.0", "0", "[::]"]


@pytest.mark.parametrize("host", SPELLINGS)
def test_loopback_in_any_spelling_is_never_requested(canary, tmp_path, host):
    port, hits = canary
    url = f"http://{host}:{port}/secret.png"
    result = localize([url], ImageSettings(timeout=1), ImageCache(tmp_path))
    assert "blocked address" in result.failed[url]
    assert hits == []


@pytest.mark.parametrize("url", [
    "http://10.1.2.3/a.png", "http://192.168.1.1/a.png", "http://172.16.0.1/a.png", "http://169.254.169.254/latest",
    "http://[fe80::1]/a.png", "http://[fc00::1]/a.png", "http://100.64.0.1/a.png", "http://intranet/a.png",
    "file:///etc/hostname", "/etc/passwd", "x.png", "ftp://example.com/a.png", "gopher://example.com/",
    "http://[::ffff:10.0.0.1]/a.png",
])
def test_private_and_local_references_are_refused(url):
    assert refuse_reason(url) is not None


def test_public_and_allowed_hosts_pass():
    assert refuse_reason("http://image.woshipm.com/a.png") is None
    assert refuse_reason("https://93.184.216.34/a.png") is None
    assert refuse_reason("http://10.1.2.3/a.png", allow=("10.0.0.0/8",)) is None
    assert refuse_reason("http://img.intranet.corp/a.png", allow=("intranet.corp",)) is None


def test_url_finding():
    assert unwrap_url("https://cors.zfour.workers.dev/?http://a.test/x.jpg", ("https://cors.zfour.workers.dev/?",)) == "http://a.test/x.jpg"
    assert unwrap_url("https://cors.zfour.workers.dev/?url=http%3A%2F%2Fa.test%2Fx.jpg", ("https://cors.zfour.workers.dev/?",)) == "http://a.test/x.jpg"
    assert unwrap_url("//a.test/x.jpg", ()) == "https://a.test/x.jpg"
    assert image_url({"src": "data:image/gif;base64,R0lGODlhAQABAAAAACw=", "data-original": "http://a.test/o.jpg"}, ()) == "http://a.test/o.jpg"
    assert image_url({"data-original-src": "http://a.test/l.png"}, ()) == "http://a.test/l.png"
    assert image_url({"srcset": "s.jpg 480w, l.jpg 1200w, m.jpg 800w"}, ()) == "l.jpg"
    assert image_url({"src": "http://a.test/real.jpg", "data-src": "http://a.test/other.jpg"}, ()) == "http://a.test/real.jpg"


def test_data_uri_kept_as_a_file(tmp_path):
    import base64
    uri = "data:image/png;base64," + base64.b64encode(image_bytes("PNG", (4, 4))).decode()
    result = localize([uri, "data:text/html,<b>x</b>"], settings(), ImageCache(tmp_path))
    assert result.images[uri].type == "image/png" and result.images[uri].origin == "inline"
    assert "not an image" in result.failed["data:text/html,<b>x</b>"]


def test_damaged_cache_entry_is_fetched_again(image_server, tmp_path):
    cache = ImageCache(tmp_path)
    url = image_server.url_for("/ok.jpg")
    sha = localize([url], settings(), cache).images[url].sha256
    path = cache.object_path(sha)
    path.write_bytes(path.read_bytes()[:100])
    again = localize([url], settings(), cache)
    assert again.images[url].origin == "fetched" and cache.object_path(sha).stat().st_size > 100
    meta = json.loads(next((tmp_path / "urls").glob("*/*.json")).read_text())
    assert {"url", "final_url", "type", "size", "sha256", "fetched_at"} <= set(meta)


def test_offline_makes_no_request(image_server, tmp_path):
    url = image_server.url_for("/ok.png")
    result = localize([url], settings(), ImageCache(tmp_path), offline=True)
    assert "offline" in result.failed[url] and image_server.log == []


def test_mirror_folder_is_consulted_first(image_server, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "img.example.com" / "a").mkdir(parents=True)
    (mirror / "img.example.com" / "a" / "b.png").write_bytes(image_bytes("PNG"))
    result = localize(["http://img.example.com/a/b.png"], settings(mirror=mirror), ImageCache(tmp_path / "c"), offline=True)
    assert result.images["http://img.example.com/a/b.png"].origin == "mirror"


class Lagging(BaseHTTPRequestHandler):
    """Answers every image after 0.3 s, counting requests in flight (threaded server)."""
    inflight, peak, lock = 0, 0, threading.Lock()

    def do_GET(self):
        with Lagging.lock:
            Lagging.inflight += 1
            Lagging.peak = max(Lagging.peak, Lagging.inflight)
        time.sleep(0.3)
        body = image_bytes("PNG", (8, 8), (len(self.path), 0, 0))
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with Lagging.lock:
            Lagging.inflight -= 1

    def log_message(self, *args):
        pass


def test_fetches_overlap_within_the_per_host_limit(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Lagging)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        result = localize([f"http://127.0.0.1:{port}/lag/{i}.png" for i in range(16)], settings(), ImageCache(tmp_path))
    finally:
        server.shutdown()
    assert len(result.images) == 16 and 4 <= Lagging.peak <= 8


def test_epub_copies():
    big = image_bytes("JPEG", (3200, 2000))
    data, kind = for_epub(big, inspect(big, 10**8), 1600, 80)
    assert kind == "image/jpeg" and max(inspect(data, 10**8).width, inspect(data, 10**8).height) == 1600
    webp = image_bytes("WEBP", (300, 200))
    assert for_epub(webp, inspect(webp, 10**8), 1600, 80)[1] in ("image/jpeg", "image/png")
    cmyk = image_bytes("JPEG", (100, 100), (0, 0, 0, 0), mode="CMYK")
    data, kind = for_epub(cmyk, inspect(cmyk, 10**8), 1600, 80)
    from PIL import Image
    import io
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    small = image_bytes("PNG", (50, 50))
    assert for_epub(small, ImageInfo("image/png", 50, 50), 1600, 80) == (small, "image/png")


def test_an_unreachable_host_fails_fast(tmp_path):
    import socket
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    urls = [f"http://127.0.0.1:{port}/{i}.png" for i in range(40)]
    from publisher.images import fetch
    attempts = []
    original = fetch.Fetcher._attempts
    fetch.Fetcher._attempts = lambda self, url: attempts.append(url) or original(self, url)
    try:
        result = localize(urls, settings(), ImageCache(tmp_path))
    finally:
        fetch.Fetcher._attempts = original
    assert set(result.failed.values()) == {"connection failed"} and len(result.failed) == 40
    assert len(attempts) <= 8 + 3  # the first few were tried; the rest failed without a request
