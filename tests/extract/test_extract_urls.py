"""Image URL rules: srcset parsing, resolution, and the WARC image-join key."""

from __future__ import annotations

import pytest

from operators.extract import normalize_url_key
from operators.extract.urls import image_url, largest_srcset_url, resolve_http_url, srcset_candidates


def test_srcset_candidates_follow_the_html_splitting_rules():
    assert srcset_candidates(" a.jpg 1x ,b.jpg 2x,c, d.jpg (x, y) 3x , e.jpg,, ") == [
        ("a.jpg", "1x"), ("b.jpg", "2x"), ("c", ""), ("d.jpg", "(x, y) 3x"), ("e.jpg", "")]
    assert srcset_candidates("w_1,h_2/a.jpg 1x") == [("w_1,h_2/a.jpg", "1x")]  # commas inside a URL


@pytest.mark.parametrize(
    "srcset, expected",
    [
        ("a.jpg 100w, b.jpg 300w, c.jpg 200w", "b.jpg"),
        ("a.jpg, b.jpg 1.5x, c.jpg 3x", "c.jpg"),
        ("a.jpg 4x, b.jpg 100w", "b.jpg"),  # width descriptors win over densities
        ("a.jpg 100h, b.jpg", "b.jpg"),  # an unknown descriptor drops its candidate
        ("a.jpg 100w, b.jpg 100w", "a.jpg"),  # ties keep the first
        ("", None),
    ],
)
def test_largest_srcset_url(srcset, expected):
    assert largest_srcset_url(srcset) == expected


def test_resolve_keeps_reserved_characters_and_encodes_unsafe_ones():
    base = "http://a.com/x/"
    assert resolve_http_url("p.jpg?a=1&b=[2]", base) == "http://a.com/x/p.jpg?a=1&b=[2]"
    assert resolve_http_url("ü ß.jpg", base) == "http://a.com/x/%C3%BC%20%C3%9F.jpg"
    assert resolve_http_url("already%20encoded.jpg", base) == "http://a.com/x/already%20encoded.jpg"
    assert resolve_http_url("/./a/../b.jpg", base) == "http://a.com/b.jpg"
    assert resolve_http_url("HTTPS://B.com/Y.jpg", base) == "https://B.com/Y.jpg"
    assert resolve_http_url(None, base) is None


def test_image_url_order_skips_attributes_that_do_not_resolve():
    attributes = {"src": "javascript:void(0)", "data-src": "", "data-original": "o.jpg", "srcset": "s.jpg 2x"}
    assert image_url(attributes, "http://a.com/") == "http://a.com/o.jpg"
    assert image_url({"srcset": "s.jpg 1x, t.jpg 2x"}, "http://a.com/") == "http://a.com/t.jpg"
    assert image_url({"alt": "x"}, "http://a.com/") is None


@pytest.mark.parametrize(
    "url, key",
    [
        ("HTTP://WWW.Example.COM/Path/IMG.jpg?Q=A", "http://www.example.com/Path/IMG.jpg?Q=A"),
        ("http://example.com:80/a.jpg", "http://example.com/a.jpg"),
        ("https://example.com:443/a.jpg", "https://example.com/a.jpg"),
        ("https://example.com:8443/a.jpg", "https://example.com:8443/a.jpg"),
        ("http://example.com/a.jpg#top", "http://example.com/a.jpg"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com/a b.jpg", "http://example.com/a%20b.jpg"),
        ("http://bücher.de/b.jpg", "http://xn--bcher-kva.de/b.jpg"),
        ("http://[::1]:8080/a.jpg", "http://[::1]:8080/a.jpg"),
        ("http://user@Example.com/a.jpg", "http://user@example.com/a.jpg"),
    ],
)
def test_normalize_url_key(url, key):
    assert normalize_url_key(url) == key


def test_key_of_a_pair_url_matches_the_key_of_the_crawled_target_uri():
    # the page wrote the URL one way, the crawler recorded it another: same key
    pair_url = resolve_http_url("/img/a b.jpg#x", "http://WWW.Site.com:80/page")
    assert normalize_url_key(pair_url) == normalize_url_key("http://www.site.com/img/a%20b.jpg")


def test_normalize_url_key_never_raises_on_garbage():
    assert normalize_url_key("http://host:port/x") == "http://host:port/x"
    assert normalize_url_key("") == "/"
