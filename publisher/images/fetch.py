"""One image URL -> its bytes over HTTP, politely and safely; or the reason it could not be had.

httpx with `trust_env` honours http_proxy/https_proxy/no_proxy and SSL_CERT_FILE. Redirects
are followed by hand (at most 5) so that every hop passes the same address check as the first,
names resolved here even when a proxy carries the request; bodies are streamed and cut at the
size cap; connection errors and 5xx are retried with backoff, 404s and timeouts are not.
Failures are counted per origin (scheme, host, port): a certificate the build does not trust
fails that origin's other images at once with the same reason, and the same host's http images
are still fetched. No Referer, no cookies.
"""
from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from .urls import FetchFailure, refuse_reason

MAX_REDIRECTS = 5
RETRIES = 2
UNREACHABLE_AFTER = 3  # failed connections to an origin before its other images fail at once
PER_HOST = 8
USER_AGENT = "publisher/0.1 (+https://example.invalid/publisher; book builder)"


@dataclass(frozen=True)
class Fetched:
    url: str
    final_url: str
    data: bytes


Origin = tuple[str, str, int]


def origin(url: str) -> Origin:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80)


class Fetcher:
    """A shared HTTP client with a per-host limit on requests in flight.

    `resolver` (socket.getaddrinfo's signature) is how names are looked up for the address
    check; tests inject one that knows their names."""

    def __init__(self, timeout: float, max_bytes: int, allow_hosts: tuple[str, ...] = (), resolver=socket.getaddrinfo):
        self.max_bytes = max_bytes
        self.allow_hosts = allow_hosts
        self.timeout = timeout
        self.resolver = _remembering(resolver)
        self.tls = httpx.create_ssl_context(trust_env=True)  # SSL_CERT_FILE / SSL_CERT_DIR, else certifi
        self.client = self._client()
        self._retired: list[httpx.Client] = []
        self._hosts: dict[str, threading.Semaphore] = {}
        self._failed: dict[Origin, int] = {}  # connections that failed after retries
        self._refused: dict[Origin, str] = {}  # origins that fail at once, with the reason
        self._lock = threading.Lock()

    def _client(self) -> httpx.Client:
        return httpx.Client(
            trust_env=True, verify=self.tls, follow_redirects=False, timeout=httpx.Timeout(self.timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "image/avif,image/webp,image/*;q=0.9,*/*;q=0.5"},
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16))

    def _retire_client(self, failed: httpx.Client) -> None:
        """A TLS handshake that failed inside a proxy tunnel leaves its connection in the pool
        for good (httpcore issue 1023), and enough of them exhaust it (every later request then
        waits for a pool timeout). Requests go on in a fresh pool; the old one closes at the end."""
        with self._lock:
            if self.client is failed:
                self._retired.append(failed)
                self.client = self._client()

    def close(self) -> None:
        for client in [self.client, *self._retired]:
            client.close()

    def _host_slot(self, url: str) -> threading.Semaphore:
        host = urlsplit(url).hostname or ""
        with self._lock:
            return self._hosts.setdefault(host, threading.Semaphore(PER_HOST))

    def fetch(self, url: str) -> Fetched:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            if reason := refuse_reason(current, self.allow_hosts, resolve=True, resolver=self.resolver):
                raise FetchFailure(reason)
            response_url, location, data = self._get_with_retries(current)
            if location is None:
                return Fetched(url, response_url, data)
            current = urljoin(current, location)
        raise FetchFailure(f"more than {MAX_REDIRECTS} redirects")

    def _get_with_retries(self, url: str):
        where = origin(url)
        if reason := self._refused.get(where):
            raise FetchFailure(reason)  # as the attempts before: the book must not depend on timing
        try:
            return self._attempts(url)
        except FetchFailure as exc:
            with self._lock:
                if str(exc).startswith("TLS certificate"):
                    self._refused[where] = str(exc)  # a certificate does not change between requests
                elif str(exc) == "connection failed" or str(exc).startswith("TLS handshake"):
                    self._failed[where] = self._failed.get(where, 0) + 1
                    if self._failed[where] >= UNREACHABLE_AFTER:
                        self._refused[where] = str(exc)
            raise

    def _attempts(self, url: str):
        for attempt in range(RETRIES + 1):
            client = self.client
            try:
                with self._host_slot(url):
                    return self._get(client, url)
            except httpx.TimeoutException:
                raise FetchFailure("timeout") from None
            except (httpx.TransportError, _ServerError) as exc:
                if problem := tls_problem(exc):
                    self._retire_client(client)
                    raise FetchFailure(problem) from exc
                if attempt == RETRIES:
                    raise FetchFailure(str(exc) if isinstance(exc, _ServerError) else "connection failed") from None
                time.sleep(0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    def _get(self, client: httpx.Client, url: str):
        with client.stream("GET", url) as response:
            if response.is_redirect:
                return url, response.headers.get("location", ""), b""
            if response.status_code >= 500:
                raise _ServerError(f"HTTP {response.status_code}")
            if response.status_code != 200:
                raise FetchFailure(f"HTTP {response.status_code}" + (" (not found)" if response.status_code == 404 else ""))
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchFailure(f"larger than the {self.max_bytes // 2**20} MB cap")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchFailure(f"larger than the {self.max_bytes // 2**20} MB cap")
                chunks.append(chunk)
            return str(response.url), None, b"".join(chunks)


class _ServerError(Exception):
    pass


def tls_problem(exc: BaseException | None) -> str:
    """The reason to report when `exc` was caused by TLS (the certificate or the handshake),
    naming what to do; "" otherwise. httpx chains the ssl module's error as the cause."""
    while exc is not None:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return (f"TLS certificate not trusted ({exc.verify_message}); if a proxy or firewall inspects "
                    "TLS, set SSL_CERT_FILE to a CA bundle that includes its certificate")
        if isinstance(exc, ssl.SSLError):
            return f"TLS handshake failed ({exc.reason or exc}); check the proxy, or SSL_CERT_FILE"
        exc = exc.__cause__ or exc.__context__
    return ""


def _remembering(resolver):
    """`resolver` answering each (host, port) once per build: names repeat across images."""
    answers: dict = {}

    def resolve(host, port, *args, **kwargs):
        if (host, port) not in answers:
            try:
                answers[host, port] = resolver(host, port, *args, **kwargs)
            except (OSError, UnicodeError) as exc:
                answers[host, port] = exc
        if isinstance(answers[host, port], Exception):
            raise answers[host, port]
        return answers[host, port]
    return resolve
