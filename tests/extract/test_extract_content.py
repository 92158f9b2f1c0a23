"""Payload kinds and HTML decoding: Content-Type plus sniffing, charset rules and fallbacks."""

from __future__ import annotations

import pytest

from operators.extract.content import (
    charset_from_content_type,
    codec_for,
    decode_html,
    image_type,
    is_html,
    meta_charset,
)


@pytest.mark.parametrize(
    "content_type, charset",
    [("text/html; charset=UTF-8", "UTF-8"), ('text/html; charset="gbk"', "gbk"), ("text/html", None), (None, None)],
)
def test_charset_from_content_type(content_type, charset):
    assert charset_from_content_type(content_type) == charset


@pytest.mark.parametrize(
    "label, codec",
    [("ISO-8859-1", "cp1252"), ("gb2312", "gb18030"), ("Shift_JIS", "cp932"), ("utf8", "utf-8"),
     ("windows-1251", "cp1251"), ("no-such-charset", None), (None, None)],
)
def test_codec_labels_map_like_browsers(label, codec):
    assert codec_for(label) == codec


def test_meta_charset_forms():
    assert meta_charset(b'<head><meta charset="euc-kr">') == "euc-kr"
    assert meta_charset(b"<META HTTP-EQUIV='Content-Type' CONTENT='text/html; charset=koi8-r'>") == "koi8-r"
    assert meta_charset(b'<meta charset="utf-16">') == "utf-8"
    assert meta_charset(b" " * 5000 + b'<meta charset="gbk">') is None  # only the first 4 KB count


def test_decode_order_bom_http_meta_utf8_cp1252():
    assert decode_html("\ufeffé".encode("utf-8"), "cp1252") == "é"  # the BOM wins
    assert decode_html("<p>é</p>".encode("utf-16"), None) == "<p>é</p>"
    assert decode_html("Жук".encode("cp1251"), "windows-1251") == "Жук"
    meta = '<meta charset="koi8-r">Привет'
    assert decode_html(meta.encode("koi8-r"), None) == meta
    assert decode_html("€ and é".encode("utf-8"), None) == "€ and é"
    assert decode_html("€ and é".encode("cp1252"), None) == "€ and é"
    assert decode_html(b"\x80", "iso-8859-1") == "€"  # latin-1 labels mean windows-1252


def test_a_declared_charset_with_a_few_bad_bytes_is_kept():
    body = ("Привет мир " * 50).encode("utf-8") + b"\xff"
    assert decode_html(body, "utf-8").startswith("Привет мир")


def test_a_wrong_declaration_falls_back():
    assert decode_html("日本語のページ".encode("utf-8") * 20, "shift_jis").startswith("日本語のページ")


@pytest.mark.parametrize("body", [b"<html>\x00\x01\x02binary", bytes(range(128, 256)) * 20],
                         ids=["nul-bytes", "invalid-everywhere"])
def test_undecodable(body):
    assert decode_html(body, None) is None


@pytest.mark.parametrize(
    "content_type, payload, expected",
    [
        ("text/html; charset=utf-8", b"anything", True),
        ("application/xhtml+xml", b"<x/>", True),
        (None, b"  <!DOCTYPE html><p>", True),
        ("text/plain", b"\xef\xbb\xbf<html lang=en>", True),
        ("application/octet-stream", b"<!-- c --><HTML>", True),
        ("text/plain", b"just text", False),
        ("image/png", b"<html>", False),
        ("text/css", b"<html>", False),
    ],
)
def test_is_html_by_content_type_or_sniffing(content_type, payload, expected):
    assert is_html(content_type, payload) is expected


@pytest.mark.parametrize(
    "content_type, payload, expected",
    [
        ("image/JPEG", b"", "image/jpeg"),
        ("image/svg+xml; charset=utf-8", b"<svg/>", "image/svg+xml"),
        (None, b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        ("application/octet-stream", b"\x89PNG\r\n\x1a\nrest", "image/png"),
        ("", b"GIF89a...", "image/gif"),
        (None, b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (None, b"\x00\x00\x00\x1cftypavif", "image/avif"),
        (None, b"\x00\x00\x01\x00icon", "image/x-icon"),
        ("text/html", b"\xff\xd8\xff", None),
        (None, b"<html>", None),
    ],
)
def test_image_type_by_content_type_or_magic_bytes(content_type, payload, expected):
    assert image_type(content_type, payload) == expected
