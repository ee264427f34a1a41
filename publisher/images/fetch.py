"""One image URL -> its bytes over HTTP, politely and safely; or the reason it could not be had.

httpx with `trust_env` honours http_proxy/https_proxy/no_proxy. Redirects are followed by
hand (at most 5) so that every hop passes the same address check as the first; bodies are
streamed and cut at the size cap; connection errors and 5xx are retried with backoff, 404s
and timeouts are not. No Referer, no cookies.
"""
from __future__ import annotations

import threading
import time
import urllib.request
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from .urls import FetchFailure, refuse_reason

MAX_REDIRECTS = 5
RETRIES = 2
UNREACHABLE_AFTER = 3  # failed connections to a host before its other images fail at once
PER_HOST = 8
USER_AGENT = "publisher/0.1 (+https://example.invalid/publisher; book builder)"


@dataclass(frozen=True)
class Fetched:
    url: str
    final_url: str
    data: bytes


class Fetcher:
    """A shared HTTP client with a per-host limit on requests in flight."""

    def __init__(self, timeout: float, max_bytes: int, allow_hosts: tuple[str, ...] = ()):
        self.max_bytes = max_bytes
        self.allow_hosts = allow_hosts
        self.client = httpx.Client(
            trust_env=True, follow_redirects=False, timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "image/avif,image/webp,image/*;q=0.9,*/*;q=0.5"},
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16))
        self._hosts: dict[str, threading.Semaphore] = {}
        self._down: dict[str, int] = {}  # host -> connections that failed after retries
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def _host_slot(self, url: str) -> threading.Semaphore:
        host = urlsplit(url).hostname or ""
        with self._lock:
            return self._hosts.setdefault(host, threading.Semaphore(PER_HOST))

    def fetch(self, url: str) -> Fetched:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            if reason := refuse_reason(current, self.allow_hosts, resolve=not _proxied(current)):
                raise FetchFailure(reason)
            response_url, location, data = self._get_with_retries(current)
            if location is None:
                return Fetched(url, response_url, data)
            current = urljoin(current, location)
        raise FetchFailure(f"more than {MAX_REDIRECTS} redirects")

    def _get_with_retries(self, url: str):
        host = urlsplit(url).hostname or ""
        if self._down.get(host, 0) >= UNREACHABLE_AFTER:
            raise FetchFailure("connection failed")  # as the attempts before: the book must not depend on timing
        try:
            return self._attempts(url)
        except FetchFailure as exc:
            if str(exc).startswith("connection failed"):
                with self._lock:
                    self._down[host] = self._down.get(host, 0) + 1
            raise

    def _attempts(self, url: str):
        for attempt in range(RETRIES + 1):
            try:
                with self._host_slot(url):
                    return self._get(url)
            except httpx.TimeoutException:
                raise FetchFailure("timeout") from None
            except (httpx.TransportError, _ServerError) as exc:
                if attempt == RETRIES:
                    raise FetchFailure(str(exc) if isinstance(exc, _ServerError) else "connection failed") from None
                time.sleep(0.5 * 2 ** attempt)
        raise AssertionError("unreachable")

    def _get(self, url: str):
        with self.client.stream("GET", url) as response:
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


def _proxied(url: str) -> bool:
    """Whether the environment sends this URL through a proxy (then DNS is the proxy's job)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    return bool(proxies.get(parts.scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(parts.hostname or "")
