"""Builds small in-memory WARC files with warcio's writer, for the reader and extract tests."""

from __future__ import annotations

import gzip
import io

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

_MAKER = WARCWriter(io.BytesIO(), gzip=False)


def warcinfo():
    return _MAKER.create_warcinfo_record("test.warc.gz", {"software": "ccpairs-tests"})


def request(uri: str):
    headers = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example.com")], is_http_request=True)
    return _MAKER.create_warc_record(uri, "request", http_headers=headers)


def metadata(uri: str):
    return _MAKER.create_warc_record(
        uri, "metadata", payload=io.BytesIO(b"fetchTimeMs: 12\n"), warc_content_type="application/warc-fields"
    )


def response(uri: str, body: bytes | str, content_type: str | None = "text/html; charset=utf-8",
             status: str = "200 OK", headers: list[tuple[str, str]] | None = None, warc_headers=None):
    if isinstance(body, str):
        body = body.encode("utf-8")
    http = [("Content-Type", content_type)] if content_type is not None else []
    http_headers = StatusAndHeaders(status, http + list(headers or []), protocol="HTTP/1.1")
    return _MAKER.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http_headers,
                                     warc_headers_dict=warc_headers or {})


def revisit(uri: str):
    http_headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    return _MAKER.create_revisit_record(uri, "sha1:AAAA", uri, "2020-01-01T00:00:00Z", http_headers=http_headers)


def build_warc(records, compress: bool = True) -> tuple[bytes, list[int]]:
    """The WARC bytes (one gzip member per record when compressed) and each record's offset."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=compress)
    offsets = []
    for record in records:
        offsets.append(out.tell())
        writer.write_record(record)
    return out.getvalue(), offsets


def members(data: bytes, offsets: list[int]) -> list[bytes]:
    """The gzip members of a WARC built by build_warc."""
    ends = offsets[1:] + [len(data)]
    return [data[start:end] for start, end in zip(offsets, ends)]


def recompress(member: bytes, transform) -> bytes:
    """A gzip member whose decompressed record went through `transform`."""
    return gzip.compress(transform(gzip.decompress(member)))


def page(*imgs: str, head: str = "") -> str:
    """A small HTML page with the given <img> tags."""
    return f"<!doctype html><html><head>{head}</head><body>{''.join(imgs)}</body></html>"
