"""Image URLs as a browser would fetch them: which <img> attribute, resolved and cleaned,
and the normalised key that joins a pair's URL to an image record inside the WARCs.
"""

from __future__ import annotations

import re
from typing import Mapping
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

# (attribute, holds a srcset): src, then lazy-loading attributes, then srcset
IMAGE_URL_ATTRIBUTES: tuple[tuple[str, bool], ...] = (
    ("src", False),
    ("data-src", False),
    ("data-original", False),
    ("data-lazy-src", False),
    ("data-srcset", True),
    ("data-lazy-srcset", True),
    ("data-lazy", False),
    ("data-original-src", False),
    ("data-hi-res-src", False),
    ("srcset", True),
)
HTTP_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
# characters a browser percent-encodes in a path or query; "%" stays, so nothing is re-encoded
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_WHATWG_STRIP = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "
_DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)([wx])$")
_NEEDS_QUOTING = re.compile(r"[^!#$%&'()*+,/:;=?@\[\]~A-Za-z0-9_.\-]")


def _quote(part: str) -> str:
    return quote(part, safe=_URL_SAFE) if _NEEDS_QUOTING.search(part) else part


def _join(base: str, value: str) -> str:
    """urljoin, with the common cases (absolute, scheme-relative, absolute path without dot
    segments) done directly: urljoin costs ~25 us a call."""
    head = value[:8].lower()
    if head.startswith("http://") or head == "https://":
        return value
    if value.startswith("/") and "/." not in value:
        parts = urlsplit(base)
        if value.startswith("//"):
            return f"{parts.scheme}:{value}"
        return f"{parts.scheme}://{parts.netloc}{value}"
    return urljoin(base, value)


def resolve_http_url(raw: str | None, base: str) -> str | None:
    """Resolve an attribute value against `base`; None unless it is an http(s) URL.

    Strips surrounding whitespace and inner tabs/newlines (URL standard), treats "\\" as
    "/", drops the fragment and percent-encodes spaces and non-ASCII characters.
    """
    if not raw:
        return None
    value = _TAB_NEWLINE.sub("", raw.strip(_WHATWG_STRIP)).replace("\\", "/")
    if not value:
        return None
    try:
        parts = urlsplit(_join(base, value))
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme not in HTTP_SCHEMES or not parts.hostname:
        return None
    return urlunsplit((parts.scheme, parts.netloc, _quote(parts.path), _quote(parts.query), ""))


def srcset_candidates(srcset: str) -> list[tuple[str, str]]:
    """(url, descriptor) pairs of a srcset, split as the HTML standard does (URLs may hold
    commas; descriptors end at a comma outside parentheses)."""
    out: list[tuple[str, str]] = []
    pos, n = 0, len(srcset)
    while True:
        while pos < n and (srcset[pos].isspace() or srcset[pos] == ","):
            pos += 1
        if pos >= n:
            return out
        start = pos
        while pos < n and not srcset[pos].isspace():
            pos += 1
        url = srcset[start:pos]
        if url.endswith(","):
            out.append((url.rstrip(","), ""))
            continue
        start, depth = pos, 0
        while pos < n and (srcset[pos] != "," or depth):
            if srcset[pos] == "(":
                depth += 1
            elif srcset[pos] == ")" and depth:
                depth -= 1
            pos += 1
        out.append((url, srcset[start:pos].strip()))
        pos += 1


def largest_srcset_url(srcset: str | None) -> str | None:
    """The candidate with the largest width (`w`), else the largest density (`x`, default 1x)."""
    best: str | None = None
    best_key: tuple[int, float] | None = None
    for url, descriptor in srcset_candidates(srcset or ""):
        if not url:
            continue
        if descriptor:
            match = _DESCRIPTOR.match(descriptor.split()[0])
            if match is None:
                continue
            key = (1 if match.group(2) == "w" else 0, float(match.group(1)))
        else:
            key = (0, 1.0)
        if best_key is None or key > best_key:
            best, best_key = url, key
    return best


def image_url(attributes: Mapping[str, str | None], base: str) -> str | None:
    """The URL an <img> shows: the first attribute of IMAGE_URL_ATTRIBUTES that resolves
    to an http(s) URL (so a data: placeholder in src falls through to data-src)."""
    for name, is_srcset in IMAGE_URL_ATTRIBUTES:
        value = attributes.get(name)
        if not value:
            continue
        url = resolve_http_url(largest_srcset_url(value) if is_srcset else value, base)
        if url is not None:
            return url
    return None


def document_base(base_href: str | None, page_url: str) -> str:
    """The URL relative references resolve against: <base href> when usable, else the page."""
    return resolve_http_url(base_href, page_url) or page_url


def normalize_url_key(url: str) -> str:
    """Join key for the WARC image join, applied to both sides: lowercase scheme and host
    (IDNA for non-ASCII hosts), no default port, no fragment, empty path as "/", path and
    query kept (percent-encoded the way resolve_http_url does)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (userinfo + "@" if userinfo else "") + host
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, _quote(parts.path or "/"), _quote(parts.query), ""))
