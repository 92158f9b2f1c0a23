"""HTTP payload decoding shared by both engines: chunked transfer and content encodings,
lenient with mislabelled bodies and bounded in size."""

from __future__ import annotations

import gzip
import zlib

import pytest

from operators.readers.http import decode_http_body, dechunk


def test_dechunk_joins_chunks_and_ignores_extensions_and_trailers():
    assert dechunk(b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: y\r\n\r\n") == b"abcde"


def test_body_that_was_never_chunked_is_kept():
    assert dechunk(b"<html>plain</html>") == b"<html>plain</html>"


def test_bad_chunk_header_later_on_keeps_the_rest_raw():
    assert dechunk(b"3\r\nabc\r\nzz\r\nrest") == b"abczz\r\nrest"


def test_chunk_cut_short_keeps_what_is_there():
    assert dechunk(b"a\r\nabc") == b"abc"


def test_missing_chunk_terminator_keeps_the_rest_raw():
    assert dechunk(b"3\r\nabcXY5\r\nhello") == b"abcXY5\r\nhello"


@pytest.mark.parametrize(
    "encoding, encode",
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as many servers send
        (" GZIP ", gzip.compress),
    ],
)
def test_content_encodings_are_decoded(encoding, encode):
    assert decode_http_body(encode(b"hello world"), None, encoding, 100) == (b"hello world", True)


def test_brotli_is_decoded_when_available():
    brotli = pytest.importorskip("brotli")
    assert decode_http_body(brotli.compress(b"hello"), None, "br", 100) == (b"hello", True)


def test_mislabelled_encoding_keeps_the_body():
    assert decode_http_body(b"not compressed", None, "gzip", 100) == (b"not compressed", True)


def test_chunked_then_gzip():
    body = gzip.compress(b"x" * 50)
    chunked = hex(len(body))[2:].encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"
    assert decode_http_body(chunked, "chunked", "gzip", 100) == (b"x" * 50, True)


def test_limit_cuts_and_reports_incomplete():
    assert decode_http_body(b"abcdef", None, None, 4) == (b"abcd", False)
    assert decode_http_body(gzip.compress(b"y" * 10_000), None, "gzip", 10) == (b"y" * 10, False)
