"""HTTP payload decoding (chunked transfer, gzip/deflate/br content) shared by both WARC
engines, so they give identical payloads, lenient the way warcio is and bounded in size.
"""

from __future__ import annotations

import re
import zlib
from typing import Callable

try:  # brotli is optional, as it is for warcio
    import brotli
except ImportError:  # pragma: no cover - depends on the environment
    brotli = None

_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")


def dechunk(body: bytes) -> bytes:
    """Undo chunked transfer coding. Like warcio: a body whose first chunk header is not
    valid was never chunked and is returned as is; after a bad chunk header later on, the
    rest is kept raw; a chunk cut short keeps what is there."""
    out: list[bytes] = []
    pos, n = 0, len(body)
    while pos < n:
        eol = body.find(b"\r\n", pos, pos + 1024)
        size_field = body[pos:eol].split(b";", 1)[0].strip() if eol >= 0 else b""
        if not _CHUNK_SIZE.fullmatch(size_field):
            if not out:
                return body
            out.append(body[pos:])
            break
        size = int(size_field, 16)
        if size == 0:
            break
        start = eol + 2
        out.append(body[start : start + size])
        pos = start + size
        if body[pos : pos + 2] == b"\r\n":
            pos += 2
        elif pos < n:  # chunk terminator missing: treat the rest as unchunked data
            out.append(body[pos:])
            break
    return b"".join(out)


def _inflate(body: bytes, limit: int, wbits: int) -> bytes | None:
    try:
        return zlib.decompressobj(wbits).decompress(body, limit + 1)
    except zlib.error:
        return None


def _gunzip(body: bytes, limit: int) -> bytes | None:
    return _inflate(body, limit, 16 + zlib.MAX_WBITS)


def _deflate(body: bytes, limit: int) -> bytes | None:
    # "deflate" is zlib-wrapped by the standard, raw deflate by many servers
    out = _inflate(body, limit, zlib.MAX_WBITS)
    return out if out is not None else _inflate(body, limit, -zlib.MAX_WBITS)


def _unbrotli(body: bytes, limit: int) -> bytes | None:
    try:
        return brotli.Decompressor().process(body, output_buffer_limit=limit + 1)[: limit + 1]
    except brotli.error:
        return None


_DECODERS: dict[str, Callable[[bytes, int], bytes | None]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _deflate,
}
if brotli is not None:
    _DECODERS["br"] = _unbrotli


def decode_http_body(
    body: bytes, transfer_encoding: str | None, content_encoding: str | None, limit: int
) -> tuple[bytes, bool]:
    """The payload as the server meant it: (at most `limit` bytes, whether it is complete).

    A body labelled as encoded that does not decode is taken as not encoded (servers lie).
    Decoding stops after `limit` + 1 bytes, so a compression bomb costs nothing.
    """
    if transfer_encoding and "chunked" in transfer_encoding.lower():
        body = dechunk(body)
    decoder = _DECODERS.get((content_encoding or "").strip().lower())
    if decoder is not None and body:
        decoded = decoder(body, limit)
        if decoded is not None:
            body = decoded
    if len(body) > limit:
        return body[:limit], False
    return body, True
