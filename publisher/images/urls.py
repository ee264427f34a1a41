"""Image references in a post -> the URL to fetch; and whether a URL may be fetched at all.

`image_url` follows lazy-load attributes when `src` is a placeholder and unwraps proxy prefixes.
`refuse_reason` is the SSRF guard: it refuses non-http(s) schemes and every spelling of a
loopback, private, link-local, unspecified or otherwise non-public address (127.1, 2130706433,
0x7f.0.0.1, [::ffff:127.0.0.1], localhost …), unless the user allowed the host. Host names are
first put in the one form a resolver sees (IDNA mapping, case folded, trailing dots dropped:
`LOCALHOST.`, `ｌｏｃａｌｈｏｓｔ` and `a.localhost.` are all local names), and with `resolve`
a name that resolves here to a non-public address is refused even when a proxy would carry the
request (the proxy would reach the same place).
"""
from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import unquote, urlsplit

class FetchFailure(Exception):
    """An image that could not be had; the message is the human reason for the report."""


class ImageRejected(Exception):
    """Bytes that are not a usable image; the message is the reason for the report."""


LAZY_ATTRS = ("data-original", "data-original-src", "data-src", "data-lazy-src", "data-actualsrc", "data-url")
PLACEHOLDER = re.compile(r"(^data:.{0,200}$)|blank\.gif|placeholder|spacer\.gif|lazy[-_]?load|loading\.gif", re.I | re.S)


def image_url(attrs: dict, unwrap: tuple[str, ...]) -> str:
    """The URL an <img> really shows, from its attributes; '' when it has none."""
    src = (attrs.get("src") or "").strip()
    if not src or PLACEHOLDER.search(src):
        lazy = next((attrs[a].strip() for a in LAZY_ATTRS if (attrs.get(a) or "").strip()), "")
        lazy = lazy or best_srcset(attrs.get("data-srcset") or attrs.get("srcset") or "")
        src = lazy or src
    return unwrap_url(src, unwrap)


def best_srcset(srcset: str) -> str:
    """The widest candidate of a srcset ('a.jpg 480w, b.jpg 960w' -> 'b.jpg')."""
    best, best_size = "", -1.0
    for part in srcset.split(","):
        bits = part.split()
        if not bits:
            continue
        size = 1.0
        if len(bits) > 1 and re.fullmatch(r"[\d.]+[wx]", bits[1]):
            size = float(bits[1][:-1])
        if size > best_size:
            best, best_size = bits[0], size
    return best


def unwrap_url(url: str, prefixes: tuple[str, ...]) -> str:
    """Strip proxy prefixes (also their ?url=<encoded> form), repeatedly; fix protocol-relative URLs."""
    url = url.strip()
    changed = True
    while changed:
        changed = False
        for prefix in prefixes:
            if prefix and url.startswith(prefix):
                rest = url[len(prefix):]
                if rest.startswith("url="):
                    rest = rest[4:]
                if re.match(r"https?%3A", rest, re.I):
                    rest = unquote(rest)
                url, changed = rest, True
    if url.startswith("//"):
        url = "https:" + url
    return url


def literal_address(host: str):
    """The IP address a host name spells, in any notation inet_aton accepts; None for names."""
    host = host.strip("[]").lower()
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fx.]+", host) and not re.fullmatch(r"[a-f.]+", host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    return None


def is_public(address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour:
        address = address.sixtofour
    return address.is_global and not address.is_multicast


def canonical_host(host: str) -> str | None:
    """The name a resolver looks up for `host`: IDNA-mapped (NFKC, case folded; RFC 3490's
    nameprep, as Python's idna codec does), trailing dots dropped. None when it cannot be one."""
    host = host.strip("[]")
    if "%" in host or not host:
        return None  # percent-escapes or an IPv6 zone: never a public host
    if ":" in host:
        return host.lower()  # an IPv6 literal
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    return host.lower().rstrip(".") or None


LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet", ".corp")


def host_allowed(host: str, allow: tuple[str, ...]) -> bool:
    host = host.strip("[]").lower()
    for entry in allow:
        entry = entry.lower().strip()
        if host == entry or host.endswith("." + entry):
            return True
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def refuse_reason(url: str, allow: tuple[str, ...] = (), resolve: bool = False,
                  resolver=socket.getaddrinfo) -> str | None:
    """Why `url` must not be requested, or None when it may be.

    With `resolve`, names are looked up (with `resolver`) and every address they resolve to
    must be public; a name that does not resolve here is left to the proxy, the only way out.
    """
    if url.startswith("data:"):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "malformed URL"
    if parts.scheme.lower() == "file" or not parts.scheme:
        return "local file (never read)"
    if parts.scheme.lower() not in ("http", "https"):
        return f"scheme {parts.scheme}: not allowed"
    if not host:
        return "URL without a host"
    name = canonical_host(host)
    if name is None:
        return f"malformed host {host}"
    if allow and host_allowed(name, allow):
        return None
    address = literal_address(name)
    if address is not None:
        return None if is_public(address) else f"blocked address {host} (not public)"
    if name == "localhost" or name.endswith(LOCAL_SUFFIXES) or "." not in name:
        return f"blocked address {host} (local name)"
    if resolve:
        try:
            infos = resolver(name, None)
        except (OSError, UnicodeError):
            return None
        for info in infos:
            if not is_public(ipaddress.ip_address(info[4][0].split("%")[0])):
                return f"blocked address {host} resolves to {info[4][0]} (not public)"
    return None
