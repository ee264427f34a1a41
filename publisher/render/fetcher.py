"""A locked-down URL fetcher for WeasyPrint: files inside the build's own folders and data:
URIs only; no network, no redirects, nothing else from the disk.

WeasyPrint's default fetcher reads any file: URL (it embedded /etc/hostname through
<link rel=attachment>, GHSA-35jj-wx47-4w8r) and requests any http URL (CVE-2025-68616).
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse


class LockedFetcher(URLFetcher):
    def __init__(self, roots: list[Path]):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.roots = [Path(r).resolve() for r in roots]

    def fetch(self, url, headers=None):
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise ValueError(f"refused by the build's URL fetcher: {url[:80]}")
        path = Path(unquote(urlsplit(url).path)).resolve()
        if not any(path.is_relative_to(root) for root in self.roots) or not path.is_file():
            raise ValueError(f"refused by the build's URL fetcher: {url[:80]}")
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": _content_type(path)})


def _content_type(path: Path) -> str:
    return {".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml"}.get(path.suffix, "application/octet-stream")
