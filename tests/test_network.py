"""The network's sharper edges, against real servers on 127.0.0.1: an https server whose
certificate the build does not trust (made with trustme), a real forward proxy (CONNECT for
https), and the SSRF guard when a proxy carries the requests."""
from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import trustme

from publisher.images import localize
from publisher.images.cache import ImageCache
from publisher.images.fetch import Fetcher
from publisher.images.urls import refuse_reason
from publisher.manifest import ImageSettings

from conftest import image_bytes

PNG = image_bytes("PNG", (40, 30))


class Images(BaseHTTPRequestHandler):
    """Any path: a small PNG."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args):
        pass


def serve(handler, tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def untrusted_https():
    """An https image server on 127.0.0.1 whose certificate comes from a CA nobody trusts."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost", "*.example.test").configure_cert(context)
    server = serve(Images, context)
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def plain_http():
    server = serve(Images)
    yield server.server_address[1]
    server.shutdown()


class Proxy(BaseHTTPRequestHandler):
    """A forward proxy: CONNECT tunnels and absolute-URL GETs, to where `routes` says (else to
    the host asked for); every request is logged."""

    routes: dict = {}  # "host:port" or "host" -> (ip, port)
    log: list = []

    def _target(self, host: str, port: int):
        return self.routes.get(f"{host}:{port}") or self.routes.get(host) or (host, port)

    def do_CONNECT(self):
        host, _, port = self.path.rpartition(":")
        Proxy.log.append(f"CONNECT {self.path}")
        try:
            upstream = socket.create_connection(self._target(host, int(port)), timeout=5)
        except OSError:
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        sockets = [self.connection, upstream]
        while True:
            readable, _, _ = select.select(sockets, [], [], 5)
            if not readable:
                break
            for s in readable:
                data = s.recv(65536)
                if not data:
                    upstream.close()
                    return
                (upstream if s is self.connection else self.connection).sendall(data)
        upstream.close()

    def do_GET(self):
        Proxy.log.append(f"GET {self.path}")
        parts = urlsplit(self.path)
        host, port = self._target(parts.hostname, parts.port or 80)
        try:
            conn = http.client.HTTPConnection(host, port, timeout=5)
            conn.request("GET", parts.path or "/")
            response = conn.getresponse()
            body = response.read()
        except OSError:
            self.send_error(502)
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.getheader("Content-Type") or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy(monkeypatch):
    """A forward proxy on 127.0.0.1, set as http_proxy and https_proxy (no CA configured)."""
    Proxy.routes, Proxy.log = {}, []
    server = serve(Proxy)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    for var in ("http_proxy", "https_proxy"):
        monkeypatch.setenv(var, url)
    for var in ("SSL_CERT_FILE", "SSL_CERT_DIR", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(var, raising=False)
    yield Proxy
    server.shutdown()


def loopback_allowed(**kw) -> ImageSettings:
    return ImageSettings(allow_hosts=("127.0.0.1",), timeout=kw.pop("timeout", 5), **kw)


def test_an_untrusted_certificate_fails_at_once_naming_it(untrusted_https, plain_http, tmp_path, monkeypatch):
    """Direct: every https image fails with a reason about the certificate and SSL_CERT_FILE;
    the same host's http images (another origin) are still fetched."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    https = [f"https://127.0.0.1:{untrusted_https}/tls-{i}.png" for i in range(12)]
    plain = [f"http://127.0.0.1:{plain_http}/plain-{i}.png" for i in range(4)]
    result = localize(https + plain, loopback_allowed(), ImageCache(tmp_path))
    assert set(result.failed) == set(https)
    (reason,) = set(result.failed.values())
    assert "TLS certificate not trusted" in reason and "SSL_CERT_FILE" in reason
    assert all(result.images[u].origin == "fetched" for u in plain)


def test_trusting_the_ca_with_ssl_cert_file_fetches_them(tmp_path, monkeypatch):
    """The fix the reason names works: SSL_CERT_FILE pointing at the CA."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = serve(Images, context)
    try:
        bundle = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(bundle))
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
        url = f"https://127.0.0.1:{server.server_address[1]}/ok.png"
        result = localize([url], loopback_allowed(), ImageCache(tmp_path / "c"))
        assert url in result.images and not result.failed
    finally:
        server.shutdown()


def test_tls_failures_through_a_proxy_never_exhaust_the_pool(untrusted_https, plain_http, proxy, tmp_path):
    """Through a CONNECT proxy, failed TLS handshakes leave dead connections in httpcore's pool
    (upstream issue 1023). More failing origins than the pool holds (16), then plain requests
    through the same proxy: each failure names the certificate, none is a timeout, and the
    plain images arrive."""
    hosts = [f"img{i}.example.test" for i in range(24)]
    for host in hosts:
        proxy.routes[f"{host}:443"] = ("127.0.0.1", untrusted_https)
    proxy.routes["plain.example.test"] = ("127.0.0.1", plain_http)
    https = [f"https://{host}/a.png" for host in hosts]
    plain = [f"http://plain.example.test/p-{i}.png" for i in range(6)]
    started = time.perf_counter()
    result = localize(https, ImageSettings(timeout=20), ImageCache(tmp_path))
    second = localize(plain, ImageSettings(timeout=20), ImageCache(tmp_path))
    assert set(result.failed) == set(https)
    assert all("TLS certificate not trusted" in r for r in result.failed.values())
    assert not second.failed and set(second.images) == set(plain)
    # a pool timeout would take the 20 s timeout; this is the property, not a benchmark
    assert time.perf_counter() - started < 20


def test_one_fetcher_keeps_working_after_many_tls_failures(untrusted_https, plain_http, proxy):
    """The same client object: after 24 failed handshakes in tunnels, a plain request still goes."""
    for i in range(24):
        proxy.routes[f"bad{i}.example.test:443"] = ("127.0.0.1", untrusted_https)
    proxy.routes["plain.example.test"] = ("127.0.0.1", plain_http)
    fetcher = Fetcher(timeout=10, max_bytes=2**20)
    try:
        for i in range(24):
            with pytest.raises(Exception, match="certificate"):
                fetcher.fetch(f"https://bad{i}.example.test/x.png")
        assert fetcher.fetch("http://plain.example.test/ok.png").data == PNG
    finally:
        fetcher.close()


LOCAL_SPELLINGS = ["localhost.", "LOCALHOST", "LocalHost.", "a.localhost", "A.LOCALHOST.", "ｌｏｃａｌｈｏｓｔ",
                   "a。localhost", "127.0.0.1.", "127.1.", "0x7f.1.", "[::1]", "printer.local.", "db.internal",
                   "%6cocalhost"]


@pytest.mark.parametrize("host", LOCAL_SPELLINGS)
def test_local_names_by_their_form_are_refused_under_a_proxy(host, canary, proxy, tmp_path):
    """With a proxy that would happily reach loopback, no spelling of a local name gets there."""
    port, hits = canary
    url = f"http://{host}:{port}/secret.png"
    result = localize([url], ImageSettings(timeout=3), ImageCache(tmp_path))
    assert url in result.failed and ("blocked address" in result.failed[url] or "malformed" in result.failed[url])
    assert hits == [] and proxy.log == []


def test_names_resolving_to_private_addresses_are_refused_under_a_proxy(canary, proxy):
    """A public-looking name that resolves here to loopback is refused before the proxy sees it.
    (The name's answer comes from the injected resolver: the test cannot edit the machine's DNS.)"""
    port, hits = canary

    def resolver(host, port_, *args, **kwargs):
        if host == "intranet.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]
        raise socket.gaierror(socket.EAI_NONAME, "unknown")
    proxy.routes["intranet.example.test"] = ("127.0.0.1", port)
    fetcher = Fetcher(timeout=3, max_bytes=2**20, resolver=resolver)
    try:
        with pytest.raises(Exception, match="resolves to 127.0.0.1"):
            fetcher.fetch(f"http://intranet.example.test:{port}/secret.png")
    finally:
        fetcher.close()
    assert hits == [] and proxy.log == []
    assert refuse_reason("http://intranet.example.test/", resolve=True, resolver=resolver) is not None
    assert refuse_reason("http://unknown.example.test/", resolve=True, resolver=resolver) is None  # left to the proxy


def test_allow_hosts_still_opens_the_door_under_a_proxy(canary, proxy, tmp_path):
    port, hits = canary
    url = f"http://localhost:{port}/allowed.png"
    localize([url], ImageSettings(timeout=3, allow_hosts=("localhost",)), ImageCache(tmp_path))
    assert hits == ["/allowed.png"] and proxy.log == [f"GET {url}"]
