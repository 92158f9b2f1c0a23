"""What a payload is and how to read it: HTML or image by Content-Type and magic bytes,
and HTML bytes to text by the declared charset with sane fallbacks (browser-like).
"""

from __future__ import annotations

import codecs
import re

SNIFF_BYTES = 1024  # bytes looked at to sniff HTML / binary content
META_SCAN_BYTES = 4096  # bytes searched for <meta charset>
MAX_REPLACEMENT_RATIO = 0.02  # more U+FFFD than this and a decoding is wrong
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Content-Types that say nothing, so the payload is sniffed
VAGUE_TYPES = ("", "text/plain", "application/octet-stream", "binary/octet-stream",
               "unknown/unknown", "application/unknown", "*/*")
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta\b[^>]{0,512}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_PARAM_CHARSET = re.compile(r"""charset\s*=\s*["']?\s*([^"';\s,]+)""", re.I)
# WHATWG-style label fixes: the superset codecs browsers actually use for these labels
_ALIASES = {
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
    "l1": "cp1252", "us-ascii": "cp1252", "ascii": "cp1252", "windows-1252": "cp1252",
    "iso-8859-9": "cp1254", "latin5": "cp1254", "tis-620": "cp874", "iso-8859-11": "cp874",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "ms_kanji": "cp932", "windows-31j": "cp932", "euc-kr": "cp949", "ks_c_5601-1987": "cp949",
    "big5": "big5hkscs", "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8",
}
_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
)
_FTYP_BRANDS = {b"avif": "image/avif", b"avis": "image/avif", b"heic": "image/heic",
                b"heix": "image/heic", b"mif1": "image/heif"}


def media_type(content_type: str | None) -> str:
    """"Text/HTML; charset=UTF-8" -> "text/html"."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def charset_from_content_type(content_type: str | None) -> str | None:
    match = _PARAM_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def codec_for(label: str | None) -> str | None:
    """The Python codec for a charset label, or None if unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def meta_charset(html: bytes) -> str | None:
    match = _META_CHARSET.search(html, 0, META_SCAN_BYTES)
    if match is None:
        return None
    label = match.group(1).decode("ascii", "replace")
    # a <meta> readable as ASCII cannot be UTF-16: browsers take it as UTF-8
    return "utf-8" if label.lower().startswith("utf-16") else label


# codecs in which markup bytes (<, >, quotes, =, ASCII letters) may be part of other characters
_MARKUP_UNSAFE_CODECS = ("utf-16", "utf-32", "iso2022", "utf-7", "hz")


def markup_is_ascii(html: bytes, charset: str | None = None) -> bool:
    """True when tags can be found in the raw bytes: no UTF-16/32 byte-order mark and no
    declared charset (HTTP or <meta>) in which ASCII bytes can belong to other characters."""
    if html.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    for label in (charset, meta_charset(html)):
        codec = codec_for(label)
        if codec is not None and codec.startswith(_MARKUP_UNSAFE_CODECS):
            return False
    return True


def _replacement_ok(text: str) -> bool:
    return text.count("\ufffd") <= MAX_REPLACEMENT_RATIO * max(len(text), 1)


def decode_html(html: bytes, charset: str | None = None, upto: int | None = None) -> str | None:
    """HTML bytes to text, or None when they are not text (undecodable).

    Order: byte-order mark; the HTTP charset, then <meta charset> (a declared charset
    with a few bad bytes is still used, with U+FFFD); UTF-8; cp1252; finally UTF-8 with
    replacement if that leaves at most 2 % U+FFFD. NUL bytes near the start mean binary.
    With `upto`, only html[:upto] is decoded (the charset is still looked for in html).
    """
    meta = meta_charset(html)
    html = html if upto is None else html[:upto]
    for bom, codec in _BOMS:
        if html.startswith(bom):
            return html[len(bom) :].decode(codec, "replace")
    if b"\x00" in html[:SNIFF_BYTES]:
        return None
    tried: list[str] = []
    for label in (charset, meta):
        codec = codec_for(label)
        if codec is None or codec in tried:
            continue
        tried.append(codec)
        try:
            return html.decode(codec)
        except UnicodeDecodeError:
            text = html.decode(codec, "replace")
            if _replacement_ok(text):
                return text
    for codec in ("utf-8", "cp1252"):
        if codec not in tried:
            try:
                return html.decode(codec)
            except UnicodeDecodeError:
                pass
    text = html.decode("utf-8", "replace")
    return text if _replacement_ok(text) else None


def looks_like_html(payload: bytes) -> bool:
    head = payload[:SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<!doctype html") or b"<html" in head


def is_html(content_type: str | None, payload: bytes) -> bool:
    """HTML by Content-Type, or by sniffing when the Content-Type says nothing."""
    kind = media_type(content_type)
    return kind in HTML_TYPES or (kind in VAGUE_TYPES and looks_like_html(payload))


def sniff_image_type(payload: bytes) -> str | None:
    """The image media type its magic bytes say, or None."""
    for magic, kind in _IMAGE_MAGIC:
        if payload.startswith(magic):
            return kind
    if payload[:4] == b"RIFF" and payload[8:12] == b"WEBP":
        return "image/webp"
    if payload[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(payload[8:12])
    return None


def image_type(content_type: str | None, payload: bytes) -> str | None:
    """The image media type of a payload (by Content-Type, else sniffed), or None."""
    kind = media_type(content_type)
    if kind.startswith("image/"):
        return kind
    if kind in VAGUE_TYPES:
        return sniff_image_type(payload)
    return None
