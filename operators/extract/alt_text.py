"""The extract stage: one streaming pass over a WARC file turns HTML responses into
(image URL, alt text) pairs with provenance, and sets image responses aside for the join.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from selectolax.lexbor import LexborHTMLParser

from operators.base import FunnelCounts
from operators.extract.config import ExtractConfig
from operators.extract.content import charset_from_content_type, decode_html, image_type, is_html, markup_is_ascii
from operators.extract.urls import document_base, image_url, normalize_url_key
from operators.readers.inputs import is_storage_error
from operators.readers.warc import REASONS as READER_REASONS
from operators.readers.warc import STAGE, WarcRecord, crawl_from_path, iter_records, open_input

__all__ = [
    "REASONS", "STAGE", "extract_pairs", "iter_warc", "normalize_alt", "normalize_url_key", "page_pairs", "pairs_from_text",
]

# why a WARC record yields no pair (stage "extract", unit = WARC records)
REASONS = (
    "not_response",  # request, metadata, warcinfo, revisit, ... records
    "not_http",  # a response record without HTTP (dns:, ftp:)
    "http_error",  # HTTP status not 2xx (images: not 200)
    "not_html",  # neither HTML nor an image kept for the join
    "html_too_large",  # HTML payload over max_html_bytes
    "undecodable",  # HTML bytes that are no text in any charset tried
    "no_pairs",  # HTML without a usable <img alt>
    "image_record",  # an image response, emitted for the WARC image join
    "image_too_large",  # image payload over max_image_bytes
) + READER_REASONS  # truncated, broken_record, not_warc, empty_file, io_error

Item = tuple[str, dict[str, Any]]


class _TagScanner:
    """Finds where parsing may stop, before the HTML parser runs (on str or raw bytes).

    It tokenises only <img>/<image> tags, by the HTML5 tokenizer's attribute rules. HTML5
    parsing is left to right, so elements before a point do not depend on what follows:
    parsing up to the end of the last tag that may carry a non-empty alt gives the same
    pairs as parsing it all (unless a <base> comes later), and a page with no such tag has
    no pairs. It over-approximates (a tag inside a comment still counts), never under.
    """

    def __init__(self, kind: type) -> None:
        def pattern(text: str, flags: int = 0) -> re.Pattern:
            return re.compile(text.encode("ascii") if kind is bytes else text, flags)

        ws, name = r"[\t\n\f\r ]", r"""[^\t\n\f\r />="'<]+(?=[\t\n\f\r />=])"""
        value = r"""(?:"[^"]*"|'[^']*'|[^\t\n\f\r "'=<>`]+(?=[\t\n\f\r >]))"""
        self.start = pattern(r"<im(?:g|age)(?=[\t\n\f\r />])", re.I)
        # the usual tag in one linear match; anything unusual goes through the attribute loop
        self.tag = pattern(rf"((?:[\t\n\f\r /]*{name}(?:{ws}*={ws}*{value})?)*)[\t\n\f\r /]*>")
        self.alt = pattern(rf"""(?:^|[\t\n\f\r /"'])alt{ws}*={ws}*("[^"]*"|'[^']*'|[^\t\n\f\r >]+)""", re.I)
        self.attribute = pattern(
            r"""[\t\n\f\r /]*([^\t\n\f\r />][^\t\n\f\r />=]*)"""
            r"""(?:[\t\n\f\r ]*=[\t\n\f\r ]*("[^"]*"|'[^']*'|[^\t\n\f\r >]*))?"""
        )
        self.tag_end = pattern(r"[\t\n\f\r /]*>")
        self.base = pattern(r"<base(?=[\t\n\f\r />])", re.I)
        self.quotes = tuple(q.encode() if kind is bytes else q for q in ("'", '"'))
        self.alt_name = b"alt" if kind is bytes else "alt"
        self.space = b"\t\n\f\r " if kind is bytes else "\t\n\f\r "
        self.empty = kind()

    def _filled(self, value) -> bool:
        if value[:1] in self.quotes:
            value = value[1:-1]
        return bool(value.strip(self.space))

    def _tag(self, html, pos: int) -> tuple[int, bool]:
        """(end of the tag starting at pos, may it have a non-empty alt); end -1 if none."""
        tag = self.tag.match(html, pos)
        if tag is not None:
            return tag.end(), any(self._filled(m.group(1)) for m in self.alt.finditer(tag.group(1)))
        has_alt = False
        while True:
            end = self.tag_end.match(html, pos)
            if end is not None:
                return end.end(), has_alt
            attribute = self.attribute.match(html, pos)
            if attribute is None:  # the text ends inside the tag: no element
                return -1, False
            if attribute.group(1).lower() == self.alt_name and self._filled(attribute.group(2) or self.empty):
                has_alt = True
            pos = attribute.end()

    def parse_end(self, html) -> int:
        """How much of html the parser needs: -1 if it cannot hold a pair."""
        starts = [match.end() for match in self.start.finditer(html)]
        for start in reversed(starts):  # the last tag that may have an alt decides
            end, has_alt = self._tag(html, start)
            if has_alt:
                return len(html) if self.base.search(html, end) is not None else end
        return -1


_TEXT_SCANNER = _TagScanner(str)
_BYTES_SCANNER = _TagScanner(bytes)


def normalize_alt(alt: str | None) -> str:
    """Collapse runs of whitespace to one space and strip. Entities were decoded by the
    HTML parser, once; decoding again would turn "&amp;lt;" into "<" instead of "&lt;"."""
    return " ".join(alt.split()) if alt else ""


def _pairs(html: str, page_url: str) -> list[tuple[str, str]]:
    tree = LexborHTMLParser(html)
    base_node = tree.css_first("base[href]")
    base = document_base(base_node.attributes.get("href") if base_node is not None else None, page_url)
    pairs: dict[tuple[str, str], None] = {}
    for node in tree.css("img[alt]"):
        attributes = node.attributes
        text = normalize_alt(attributes.get("alt"))
        if not text:
            continue
        url = image_url(attributes, base)
        if url is not None:
            pairs.setdefault((url, text), None)
    return list(pairs)


def pairs_from_text(html: str, page_url: str) -> list[tuple[str, str]]:
    """(image URL, alt text) for each <img> with a non-empty alt, duplicates dropped."""
    end = _TEXT_SCANNER.parse_end(html)
    return [] if end < 0 else _pairs(html[:end], page_url)


def page_pairs(html: bytes, page_url: str, charset: str | None = None) -> tuple[str | None, list[tuple[str, str]]]:
    """(reason there are none or None, pairs) of one HTML payload.

    Parsing is most of the cost, so the raw bytes are scanned first when the charset keeps
    markup ASCII: a page that cannot hold a pair is never decoded, and only the part the
    parser needs is."""
    if not markup_is_ascii(html, charset):
        text = decode_html(html, charset)
        if text is None:
            return "undecodable", []
        pairs = pairs_from_text(text, page_url)
        return (None if pairs else "no_pairs"), pairs
    end = _BYTES_SCANNER.parse_end(html)
    if end < 0:
        return "no_pairs", []
    text = decode_html(html, charset, upto=end)
    if text is None:
        return "undecodable", []
    pairs = _pairs(text, page_url)
    return (None if pairs else "no_pairs"), pairs


def extract_pairs(html: bytes, page_url: str, charset: str | None = None) -> list[tuple[str, str]]:
    """Pure: the (image URL, alt text) pairs of one HTML payload; [] if it is not text."""
    return page_pairs(html, page_url, charset)[1]


def _drop_reason(record: WarcRecord) -> str | None:
    if record.rec_type != "response":
        return "not_response"
    if record.http_status is None:
        return "not_http"
    if not 200 <= record.http_status < 300:
        return "http_error"
    return None


def _html_items(record: WarcRecord, cfg: ExtractConfig, provenance: dict[str, Any]) -> tuple[str | None, list[Item]]:
    if not record.payload_complete or len(record.payload) > cfg.max_html_bytes:
        return "html_too_large", []
    page_url = record.target_uri or ""
    charset = charset_from_content_type(record.http_headers.get("content-type"))
    reason, pairs = page_pairs(record.payload, page_url, charset)
    return reason, [("pair", {"page_url": page_url, "url": url, "text": alt, **provenance}) for url, alt in pairs]


def _image_item(record: WarcRecord, kind: str, cfg: ExtractConfig, provenance: dict[str, Any]) -> tuple[str, list[Item]]:
    if record.http_status != 200:
        return "http_error", []
    if "warc-truncated" in record.warc_headers:
        return "truncated", []  # the crawler cut the image: its bytes do not decode
    if not record.payload_complete or len(record.payload) > cfg.max_image_bytes:
        return "image_too_large", []
    url = record.target_uri or ""
    row = {"url_key": normalize_url_key(url), "url": url, "image_bytes": record.payload, "content_type": kind}
    return "image_record", [("image", {**row, **provenance})]


def iter_warc(
    path: str, cfg: ExtractConfig, counts: FunnelCounts, storage_options: dict | None = None
) -> Iterator[Item]:
    """ONE streaming pass over one WARC file.

    Yields ("pair", {page_url, url, text, warc_path, warc_offset, crawl}) and, when
    cfg.keep_image_records, ("image", {url_key, url, image_bytes, content_type, warc_path,
    warc_offset}) for HTTP 200 image responses. Counts every record read in stage
    "extract" and drops each record that yields no pair with a reason from REASONS, so
    kept = HTML pages with at least one pair. Bad data never raises; a file that cannot
    be opened is counted as one `io_error`.
    """
    crawl = crawl_from_path(path)
    try:
        stream = open_input(path, storage_options, retries=cfg.io_retries)
    except Exception as exc:  # missing or unreachable after retries: a value, like bad data
        if not is_storage_error(exc):
            raise
        counts.add_in(STAGE)
        counts.add_drop(STAGE, "io_error")
        return
    cap = max(cfg.max_html_bytes, cfg.max_image_bytes) if cfg.keep_image_records else cfg.max_html_bytes
    with stream:
        for record in iter_records(stream, cfg.engine, counts, max_payload_bytes=cap):
            reason = _drop_reason(record)
            items: list[Item] = []
            if reason is None:
                content_type = record.http_headers.get("content-type")
                provenance = {"warc_path": path, "warc_offset": record.offset}
                if is_html(content_type, record.payload):
                    reason, items = _html_items(record, cfg, {**provenance, "crawl": crawl})
                elif cfg.keep_image_records and (kind := image_type(content_type, record.payload)) is not None:
                    reason, items = _image_item(record, kind, cfg, provenance)
                else:
                    reason = "not_html"
            if reason is not None:
                counts.add_drop(STAGE, reason)
            yield from items
