"""iter_records: record fields and offsets on in-memory WARCs, both engines, and damaged input
counted (never raised) with the rest of the file still read."""

from __future__ import annotations

import gzip
import io
import random
import zlib

import pytest

from operators.base import FunnelCounts
from operators.readers import ENGINES, REASONS, iter_records
from operators.readers.framing import split_frames
from tests.readers.warc_builder import (
    build_warc,
    members,
    metadata,
    page,
    recompress,
    request,
    response,
    revisit,
    warcinfo,
)

HTML = page('<img src="/a.jpg" alt="A cat">')


def read(data: bytes, engine: str = "fastwarc", **kwargs):
    counts = FunnelCounts()
    records = list(iter_records(io.BytesIO(data), engine, counts, **kwargs))
    return records, counts.to_dict().get("extract", {"in": 0, "kept": 0, "dropped": {}})


def crawl_like_warc():
    return build_warc(
        [
            warcinfo(),
            request("http://a.com/"),
            response("http://a.com/", HTML),
            metadata("http://a.com/"),
            response("http://a.com/missing", "<html>gone</html>", status="404 Not Found"),
            response("http://a.com/logo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png"),
            revisit("http://a.com/"),
        ]
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_records_carry_type_uri_status_headers_payload_and_member_offsets(engine):
    data, offsets = crawl_like_warc()
    records, counts = read(data, engine)
    assert [r.rec_type for r in records] == [
        "warcinfo", "request", "response", "metadata", "response", "response", "revisit"]
    assert [r.offset for r in records] == offsets
    assert counts == {"in": 7, "kept": 7, "dropped": {}}
    page_record = records[2]
    assert page_record.target_uri == "http://a.com/"
    assert page_record.http_status == 200
    assert page_record.http_headers["content-type"] == "text/html; charset=utf-8"
    assert page_record.payload == HTML.encode()
    assert page_record.warc_headers["warc-type"] == "response"
    assert page_record.payload_complete
    assert records[4].http_status == 404
    assert records[5].payload.startswith(b"\x89PNG")
    assert records[0].http_status is None and records[0].target_uri is None
    assert records[3].http_status is None  # metadata is not HTTP
    assert records[6].http_status == 200 and records[6].payload == b""


def test_both_engines_give_identical_records():
    data, _ = crawl_like_warc()
    assert read(data, "fastwarc") == read(data, "warcio")


def test_unknown_engine_is_a_configuration_error():
    with pytest.raises(ValueError, match="unknown WARC engine"):
        list(iter_records(io.BytesIO(b""), "nope", FunnelCounts()))


@pytest.mark.parametrize("engine", ENGINES)
def test_chunked_and_gzip_encoded_payloads_are_decoded(engine):
    body = b"<html><img src=x.jpg alt=y></html>"
    chunked = b"5\r\n" + body[:5] + b"\r\n" + hex(len(body) - 5)[2:].encode() + b"\r\n" + body[5:] + b"\r\n0\r\n\r\n"
    data, _ = build_warc(
        [
            response("http://a.com/1", chunked, headers=[("Transfer-Encoding", "chunked")]),
            response("http://a.com/2", gzip.compress(body), headers=[("Content-Encoding", "gzip")]),
            # labelled chunked but sent plain (wget does this): taken as is, like warcio
            response("http://a.com/3", body, headers=[("Transfer-Encoding", "chunked")]),
            # labelled gzip but plain
            response("http://a.com/4", body, headers=[("Content-Encoding", "gzip")]),
            response("http://a.com/5", zlib.compress(body), headers=[("Content-Encoding", "deflate")]),
        ]
    )
    records, _ = read(data, engine)
    assert [r.payload for r in records] == [body] * 5


def test_target_uri_is_cleaned_like_warcio():
    data, _ = build_warc([response("http://a.com/x", HTML)])
    data = recompress(data, lambda raw: raw.replace(b"WARC-Target-URI: http://a.com/x", b"WARC-Target-URI: <http://a.com/x y>"))
    assert [r.target_uri for r in read(data, "fastwarc")[0]] == ["http://a.com/x%20y"]
    assert [r.target_uri for r in read(data, "warcio")[0]] == ["http://a.com/x%20y"]


def test_uncompressed_and_whole_file_gzip_warcs_give_the_same_records():
    data, offsets = crawl_like_warc()
    plain, plain_offsets = build_warc(
        [warcinfo(), request("http://a.com/"), response("http://a.com/", HTML)], compress=False
    )
    records, counts = read(plain)
    assert [r.offset for r in records] == plain_offsets  # exact byte offsets in a plain WARC
    assert records[2].payload == HTML.encode() and counts["kept"] == 3
    whole = gzip.compress(gzip.decompress(data))  # one member for the whole file
    whole_records, counts = read(whole)
    assert [(r.rec_type, r.payload) for r in whole_records] == [(r.rec_type, r.payload) for r in read(data)[0]]
    assert {r.offset for r in whole_records} == {0} and counts["in"] == 7


def test_payload_over_the_cap_is_cut_and_marked_incomplete():
    big = b"<html>" + b"x" * 5000 + b"</html>"
    data, _ = build_warc([response("http://a.com/big", big), response("http://a.com/small", HTML)])
    records, _ = read(data, max_payload_bytes=1000)
    assert len(records[0].payload) == 1000 and not records[0].payload_complete
    assert records[1].payload == HTML.encode() and records[1].payload_complete


def test_gzip_bomb_content_encoding_is_bounded():
    bomb = gzip.compress(b"\0" * (50 << 20))
    data, _ = build_warc([response("http://a.com/bomb", bomb, headers=[("Content-Encoding", "gzip")])])
    [record], _ = read(data, max_payload_bytes=1 << 20)
    assert len(record.payload) == 1 << 20 and not record.payload_complete


# ----------------------------------------------------------------------------- damaged input


def _pages_warc(n: int = 6):
    return build_warc([response(f"http://a.com/{i}", page(f'<img src="/{i}.jpg" alt="pic {i}">')) for i in range(n)])


@pytest.mark.parametrize("engine", ENGINES)
def test_truncated_gzip_member_in_the_middle_is_counted_and_the_rest_read(engine):
    data, offsets = _pages_warc()
    parts = members(data, offsets)
    damaged = b"".join(parts[:2]) + parts[2][: len(parts[2]) // 2] + b"".join(parts[3:])
    records, counts = read(damaged, engine)
    assert [r.target_uri for r in records] == [f"http://a.com/{i}" for i in (0, 1, 3, 4, 5)]
    assert [r.offset for r in records] == [offsets[0], offsets[1]] + [o - (len(parts[2]) - len(parts[2]) // 2) for o in offsets[3:]]
    assert counts == {"in": 6, "kept": 5, "dropped": {"truncated": 1}}


@pytest.mark.parametrize("engine", ENGINES)
def test_truncated_gzip_member_at_the_end_is_counted(engine):
    data, offsets = _pages_warc()
    records, counts = read(data[: offsets[-1] + 40], engine)
    assert len(records) == 5
    assert counts == {"in": 6, "kept": 5, "dropped": {"truncated": 1}}


def test_record_cut_short_inside_an_intact_member_is_truncated():
    data, offsets = _pages_warc(3)
    parts = members(data, offsets)
    short = recompress(parts[1], lambda raw: raw[: len(raw) - 30])
    records, counts = read(parts[0] + short + parts[2])
    assert [r.target_uri for r in records] == ["http://a.com/0", "http://a.com/2"]
    assert counts["dropped"] == {"truncated": 1}


@pytest.mark.parametrize("engine", ENGINES)
def test_record_with_broken_headers_is_counted_and_the_rest_read(engine):
    data, offsets = _pages_warc()
    parts = members(data, offsets)
    parts[1] = recompress(parts[1], lambda raw: raw.replace(b"Content-Length", b"Content-Lxngth", 1))
    parts[3] = recompress(parts[3], lambda raw: b"WARC/1.0\r\nthis is not a header line at all\r\n" + raw[9:])
    records, counts = read(b"".join(parts), engine)
    assert [r.target_uri for r in records] == [f"http://a.com/{i}" for i in (0, 2, 4, 5)]
    assert counts == {"in": 6, "kept": 4, "dropped": {"broken_record": 2}}


def test_garbage_between_members_is_skipped_once():
    data, offsets = _pages_warc(4)
    parts = members(data, offsets)
    junk = random.Random(1).randbytes(3000).replace(b"\x1f\x8b", b"..")
    records, counts = read(parts[0] + parts[1] + junk + parts[2] + parts[3])
    assert len(records) == 4 and counts["dropped"] == {"broken_record": 1}


def test_broken_header_in_an_uncompressed_warc_resyncs_on_the_next_record():
    data, offsets = build_warc([response(f"http://a.com/{i}", HTML) for i in range(4)], compress=False)
    damaged = data[: offsets[1]] + b"WARC/1.0\r\nno-length: here\r\n\r\nrubbish\r\n\r\n" + data[offsets[2] :]
    records, counts = read(damaged)
    assert [r.target_uri for r in records] == ["http://a.com/0", "http://a.com/2", "http://a.com/3"]
    assert counts["dropped"] == {"broken_record": 1}


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty_file"),
        (random.Random(7).randbytes(20_000), "not_warc"),
        (gzip.compress(b"just some gzip text\n" * 100), "not_warc"),
        (b"<html>not a warc</html>", "not_warc"),
    ],
    ids=["empty", "random", "gzip-not-warc", "html"],
)
@pytest.mark.parametrize("engine", ENGINES)
def test_files_that_are_not_warcs_count_one_record_with_a_reason(engine, data, reason):
    records, counts = read(data, engine)
    assert records == []
    assert counts == {"in": 1, "kept": 0, "dropped": {reason: 1}}


def test_trailing_zero_padding_is_not_a_record():
    data, _ = _pages_warc(2)
    records, counts = read(data + b"\0" * 512)
    assert len(records) == 2 and counts == {"in": 2, "kept": 2, "dropped": {}}


def test_frames_stream_in_small_reads():
    """A stream that returns a few bytes per read still frames correctly."""

    class Trickle(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def read(self, size=-1):
            return self.inner.read(min(size if size >= 0 else 7, 7))

    data, offsets = crawl_like_warc()
    assert [f.offset for f in split_frames(Trickle(data), 1 << 20)] == offsets
    plain, plain_offsets = build_warc([response(f"http://a.com/{i}", HTML) for i in range(3)], compress=False)
    assert [f.offset for f in split_frames(Trickle(plain), 1 << 20)] == plain_offsets


def test_a_read_error_mid_file_is_counted_as_io_error():
    data, _ = _pages_warc(4)

    class Failing(io.RawIOBase):
        def __init__(self):
            self.inner = io.BytesIO(data)
            self.calls = 0

        def readable(self):
            return True

        def read(self, size=-1):
            self.calls += 1
            if self.calls > 1:
                raise ConnectionResetError("gone")
            return self.inner.read(len(data) // 2)

    counts = FunnelCounts()
    records = list(iter_records(Failing(), "fastwarc", counts))
    dropped = counts.to_dict()["extract"]["dropped"]
    assert len(records) >= 1 and dropped.get("io_error") == 1
    assert set(dropped) <= set(REASONS)


def test_reader_reasons_vocabulary():
    assert REASONS == ("truncated", "broken_record", "not_warc", "empty_file", "io_error")


@pytest.mark.parametrize("layout", ["members", "whole-file-gzip", "uncompressed"])
def test_multi_megabyte_files_stream_with_flat_memory(layout):
    """Many 1 MiB read blocks, every layout: all records, exact offsets, small peak memory."""
    import tracemalloc

    body = b"<html>" + b"lorem ipsum dolor sit amet " * 4000 + b"</html>"  # ~108 KB a record
    specs = [response(f"http://a.com/{i}", body) for i in range(120)]
    data, offsets = build_warc(specs, compress=layout == "members")
    if layout == "whole-file-gzip":
        data = gzip.compress(data, 1)
    stream = io.BytesIO(data)
    counts = FunnelCounts()
    tracemalloc.start()
    try:
        got = [(r.offset, r.target_uri, len(r.payload)) for r in iter_records(stream, "fastwarc", counts)]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    expected_offsets = [0] * 120 if layout == "whole-file-gzip" else offsets
    assert got == [(o, f"http://a.com/{i}", len(body)) for i, o in enumerate(expected_offsets)]
    assert counts.to_dict()["extract"] == {"in": 120, "kept": 120, "dropped": {}}
    assert peak < 6 << 20, f"peak {peak / 1e6:.1f} MB"


def test_member_failing_its_crc_yields_nothing_but_truncated():
    data, offsets = _pages_warc(3)
    parts = members(data, offsets)
    parts[1] = parts[1][:-8] + bytes([parts[1][-8] ^ 0xFF]) + parts[1][-7:]  # CRC32 in the gzip trailer
    records, counts = read(b"".join(parts))
    assert [r.target_uri for r in records] == ["http://a.com/0", "http://a.com/2"]
    assert counts["dropped"] == {"truncated": 1}


@pytest.mark.parametrize("compress", [True, False])
def test_broken_first_record_is_not_mistaken_for_a_non_warc_file(compress):
    data, offsets = build_warc([response(f"http://a.com/{i}", HTML) for i in range(3)], compress=compress)
    if compress:
        parts = members(data, offsets)
        parts[0] = recompress(parts[0], lambda raw: raw.replace(b"Content-Length", b"Content-Lxngth", 1))
        data = b"".join(parts)
    else:
        data = data.replace(b"Content-Length", b"Content-Lxngth", 1)
    records, counts = read(data)
    assert [r.target_uri for r in records] == ["http://a.com/1", "http://a.com/2"]
    assert counts["dropped"] == {"broken_record": 1}
