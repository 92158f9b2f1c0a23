"""WARC records as small values, streamed from any input with damage counted, not raised.

`iter_records` frames the stream itself (see framing.py) and lets an engine, fastwarc or
warcio, parse each intact record; both go through the same payload decoding, so they give
identical records. Input expansion and opening live in inputs.py and are re-exported here.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

from fastwarc.warc import WarcRecord as _FastRecord
from warcio.recordloader import ArcWarcRecordLoader

from operators.base import FunnelCounts
from operators.readers.framing import split_frames
from operators.readers.http import decode_http_body
from operators.readers.inputs import InputError, crawl_from_path, expand_inputs, open_input

__all__ = [
    "ENGINES",
    "REASONS",
    "STAGE",
    "InputError",
    "WarcRecord",
    "crawl_from_path",
    "expand_inputs",
    "iter_records",
    "open_input",
]

STAGE = "extract"  # reading WARC records is counted as part of the extract stage
ENGINES = ("fastwarc", "warcio")
DEFAULT_MAX_PAYLOAD_BYTES = 32 << 20
HTTP_HEADER_ROOM = 1 << 16  # block bytes kept beyond the payload cap, for the HTTP headers
# why a stretch of a WARC file yields no record
REASONS = ("truncated", "broken_record", "not_warc", "empty_file", "io_error")
_HTTP_RECORDS = ("response", "revisit")  # HTTP is parsed for these; request headers are not needed
_RECORD_TYPES = ("warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation")


@dataclass
class WarcRecord:
    """One parsed record. Header names are lowercased (first value wins); `payload` is the
    HTTP payload (de-chunked, content-decoded) or, for non-HTTP records, the block.
    `payload_complete` is False when the payload was longer than the cap and was cut.
    HTTP is parsed for response and revisit records only (a request's payload is its block)."""

    offset: int
    rec_type: str
    target_uri: str | None
    http_status: int | None
    http_headers: dict[str, str]
    payload: bytes
    warc_headers: dict[str, str] = field(default_factory=dict)
    payload_complete: bool = True


@dataclass
class _Parsed:
    rec_type: str
    warc_headers: dict[str, str]
    http_status: int | None
    http_headers: dict[str, str]
    body: bytes


def _record_type(name: str | None) -> str:
    return name if name in _RECORD_TYPES else "unknown"


def _lower_first(items) -> dict[str, str]:
    return {name.lower(): value for name, value in reversed(items)}  # the first value wins


def _clean_uri(uri: str | None) -> str | None:
    """WARC-Target-URI as warcio normalises it: no <brackets>, spaces as %20."""
    if uri is None:
        return None
    uri = uri.strip()
    if uri.startswith("<") and uri.endswith(">"):
        uri = uri[1:-1]
    return uri.replace(" ", "%20") or None


def _wants_http(rec_type: str, uri: str | None) -> bool:
    return rec_type in _HTTP_RECORDS and bool(uri) and uri.startswith(("http:", "https:"))


def _status(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


_WARCIO_LOADER = ArcWarcRecordLoader(verify_http=False)
_WARC_TYPE = re.compile(rb"^WARC-Type[ \t]*:[ \t]*([^\r\n]*?)[ \t]*\r?$", re.I | re.M)


def _parse_warcio(data: bytes) -> _Parsed:
    declared = _WARC_TYPE.search(data, 0, data.find(b"\r\n\r\n"))
    skip_http = declared is None or declared.group(1).decode("latin-1") not in _HTTP_RECORDS
    record = _WARCIO_LOADER.parse_record_stream(io.BufferedReader(io.BytesIO(data)), no_record_parse=skip_http)
    http = record.http_headers
    return _Parsed(
        rec_type=_record_type(record.rec_type),
        warc_headers=_lower_first(record.rec_headers.headers),
        http_status=_status(http.get_statuscode()) if http else None,
        http_headers=_lower_first(http.headers) if http else {},
        body=record.raw_stream.read(),
    )


def _parse_fastwarc(data: bytes) -> _Parsed:
    record = _FastRecord.from_bytes(data)
    rec_type = _record_type(str(record.record_type))
    warc_headers = _lower_first(record.headers.items())
    http_headers: dict[str, str] = {}
    status = None
    # parse HTTP by warcio's rule (record type and URI scheme), not by Content-Type
    if record.content_length and _wants_http(rec_type, _clean_uri(warc_headers.get("warc-target-uri"))):
        record.is_http = True
        record.parse_http(auto_decode="none")
        http_headers = _lower_first(record.http_headers.items())
        status = record.http_headers.status_code
    return _Parsed(rec_type, warc_headers, status, http_headers, record.reader.read())


_ENGINE_PARSERS: dict[str, Callable[[bytes], _Parsed]] = {
    "fastwarc": _parse_fastwarc,
    "warcio": _parse_warcio,
}


def iter_records(
    stream: BinaryIO,
    engine: str,
    counts: FunnelCounts,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> Iterator[WarcRecord]:
    """Stream the records of one WARC (gzip or not), never loading the whole file.

    Counts every record read (`counts.add_in(STAGE)`); a damaged stretch is counted once as
    dropped with a reason from REASONS and skipped, and reading resumes after it. The
    consumer counts why each yielded record is kept or dropped.
    """
    try:
        parse = _ENGINE_PARSERS[engine]
    except KeyError:
        raise ValueError(f"unknown WARC engine {engine!r}; choose one of {ENGINES}") from None
    for frame in split_frames(stream, cap=max_payload_bytes + HTTP_HEADER_ROOM):
        counts.add_in(STAGE)
        if frame.problem is not None:
            counts.add_drop(STAGE, frame.problem)
            continue
        try:
            parsed = parse(frame.data)
        except Exception:  # the engine rejected bytes from the file: bad data, not a bug here
            counts.add_drop(STAGE, "broken_record")
            continue
        if parsed.http_headers or parsed.http_status is not None:
            payload, complete = decode_http_body(
                parsed.body,
                parsed.http_headers.get("transfer-encoding"),
                parsed.http_headers.get("content-encoding"),
                max_payload_bytes,
            )
        else:
            payload, complete = parsed.body[:max_payload_bytes], len(parsed.body) <= max_payload_bytes
        yield WarcRecord(
            offset=frame.offset,
            rec_type=parsed.rec_type,
            target_uri=_clean_uri(parsed.warc_headers.get("warc-target-uri")),
            http_status=parsed.http_status,
            http_headers=parsed.http_headers,
            payload=payload,
            warc_headers=parsed.warc_headers,
            payload_complete=complete and frame.complete,
        )
