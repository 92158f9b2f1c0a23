"""extract_pairs on HTML snippets: one test per extraction rule."""

from __future__ import annotations

import pytest

from operators.extract import extract_pairs, normalize_alt

PAGE = "https://Example.com/dir/page.html?q=1"


def pairs(body: str, page_url: str = PAGE, charset: str | None = "utf-8"):
    return extract_pairs(body.encode("utf-8"), page_url, charset)


# ----------------------------------------------------------------------------- which <img>


def test_every_img_with_a_non_empty_alt_gives_a_pair_in_document_order():
    html = ('<p><img src="a.jpg" alt="First"><img src="b.jpg"><img src="c.jpg" alt="">'
            '<img src="d.jpg" alt="  \n\t "><img src="e.jpg" alt="&nbsp;"><img src="f.jpg" alt="Last"></p>')
    assert pairs(html) == [("https://Example.com/dir/a.jpg", "First"), ("https://Example.com/dir/f.jpg", "Last")]


def test_page_without_img_has_no_pairs():
    assert pairs("<html><body><p>alt text without images</p></body></html>") == []


def test_img_inside_comments_scripts_and_attribute_values_is_not_an_image():
    html = ('<!-- <img src="c.jpg" alt="comment"> --><script>var s = \'<img src="s.jpg" alt="script">\';</script>'
            '<div title=\'<img src="t.jpg" alt="attr">\'>x</div><textarea><img src="x.jpg" alt="textarea"></textarea>'
            '<img src="real.jpg" alt="real">')
    assert pairs(html) == [("https://Example.com/dir/real.jpg", "real")]


@pytest.mark.parametrize(
    "tag, expected",
    [
        ('<IMG SRC="u.jpg" ALT="Upper case">', "Upper case"),
        ('<img src="a>b.jpg" alt="gt in a quoted value">', "gt in a quoted value"),
        ("<img/alt='slash separated'/src=u.jpg>", "slash separated"),
        ("<img src=u.jpg alt=unquoted>", "unquoted"),
        ('<img alt=\'"\' src="u.jpg">', '"'),
        ('<img\nsrc="u.jpg"\nalt="newlines\nbetween\nattributes">', "newlines between attributes"),
        ('<img src="u.jpg" alt="first" alt="second">', "first"),
    ],
)
def test_tag_syntax_variants(tag, expected):
    [(url, text)] = pairs(f"<html><body>{tag}</body></html>")
    assert text == expected
    assert url.startswith("https://Example.com/dir/")


def test_image_tags_after_the_last_alt_do_not_change_the_result():
    html = '<img src="a.jpg" alt="A"><p>' + '<img src="x.jpg">' * 50 + "</p><footer>end</footer>"
    assert pairs(html) == [("https://Example.com/dir/a.jpg", "A")]


# ----------------------------------------------------------------------------- image URL


def test_src_comes_first():
    html = '<img src="src.jpg" data-src="lazy.jpg" srcset="big.jpg 2x" alt="x">'
    assert pairs(html) == [("https://Example.com/dir/src.jpg", "x")]


@pytest.mark.parametrize("attribute", ["data-src", "data-original", "data-lazy-src"])
def test_lazy_loading_attributes_when_src_is_missing(attribute):
    assert pairs(f'<img {attribute}="lazy.jpg" alt="x">') == [("https://Example.com/dir/lazy.jpg", "x")]


def test_data_placeholder_in_src_falls_through_to_the_lazy_attribute():
    html = '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/real.jpg" alt="x">'
    assert pairs(html) == [("https://Example.com/real.jpg", "x")]


def test_data_srcset_gives_its_largest_candidate():
    html = '<img data-srcset="s.jpg 100w, l.jpg 800w, m.jpg 400w" alt="x">'
    assert pairs(html) == [("https://Example.com/dir/l.jpg", "x")]


@pytest.mark.parametrize(
    "srcset, expected",
    [
        ("small.jpg 320w, large.jpg 1024w, medium.jpg 640w", "https://Example.com/dir/large.jpg"),
        ("one.jpg, two.jpg 2x, three.jpg 1.5x", "https://Example.com/dir/two.jpg"),
        ("https://cdn.x.com/img/w_100,h_100/a.jpg 100w, https://cdn.x.com/img/w_900,h_900/a.jpg 900w",
         "https://cdn.x.com/img/w_900,h_900/a.jpg"),
        ("only.jpg", "https://Example.com/dir/only.jpg"),
    ],
)
def test_srcset_largest_candidate_when_no_src(srcset, expected):
    assert pairs(f'<img srcset="{srcset}" alt="x">') == [(expected, "x")]


@pytest.mark.parametrize(
    "src",
    ["data:image/png;base64,iVBORw0KGgo=", "javascript:alert(1)", "mailto:a@b.c", "ftp://files.example.com/a.jpg",
     "", "   ", "http://", "http://host:99999/x.jpg"],
)
def test_non_http_or_broken_urls_are_dropped(src):
    assert pairs(f'<img src="{src}" alt="x">') == []


def test_fragment_is_stripped_and_whitespace_and_spaces_are_cleaned():
    html = ('<img src="  /a b.jpg#section " alt="one"><img src="/c\n.jpg" alt="two">'
            '<img src="//cdn.example.com/x.png?w=1#f" alt="three"><img src="\\images\\d.jpg" alt="four">')
    assert pairs(html) == [
        ("https://Example.com/a%20b.jpg", "one"),
        ("https://Example.com/c.jpg", "two"),
        ("https://cdn.example.com/x.png?w=1", "three"),
        ("https://Example.com/images/d.jpg", "four"),
    ]


def test_relative_urls_resolve_against_the_page_url():
    html = '<img src="../up.jpg" alt="a"><img src="?v=2" alt="b"><img src="http://other.org/abs.jpg" alt="c">'
    assert pairs(html) == [
        ("https://Example.com/up.jpg", "a"),
        ("https://Example.com/dir/page.html?v=2", "b"),
        ("http://other.org/abs.jpg", "c"),
    ]


def test_base_href_takes_precedence_over_the_page_url():
    html = '<head><base href="https://static.example.net/assets/"></head><body><img src="x.jpg" alt="a"></body>'
    assert pairs(html) == [("https://static.example.net/assets/x.jpg", "a")]


def test_relative_base_href_resolves_against_the_page_and_first_base_wins():
    html = '<base href="/root/"><base href="https://ignored.org/"><img src="x.jpg" alt="a">'
    assert pairs(html) == [("https://Example.com/root/x.jpg", "a")]


def test_base_after_the_images_still_applies():
    html = '<body><img src="x.jpg" alt="a"><p>text</p><base href="https://late.example.org/"></body>'
    assert pairs(html) == [("https://late.example.org/x.jpg", "a")]


def test_unusable_base_falls_back_to_the_page_url():
    assert pairs('<base href="javascript:void(0)"><img src="x.jpg" alt="a">') == [("https://Example.com/dir/x.jpg", "a")]


# ----------------------------------------------------------------------------- alt text


def test_entities_are_decoded_exactly_once():
    html = '<img src="a.jpg" alt="Tom &amp; Jerry &lt;3 &amp;lt;b&amp;gt; caf&eacute; &#8364;5">'
    assert pairs(html) == [("https://Example.com/dir/a.jpg", "Tom & Jerry <3 &lt;b&gt; café €5")]


def test_whitespace_is_collapsed_and_stripped():
    html = '<img src="a.jpg" alt="\n  A   red\t\tbike&nbsp;&nbsp;on  the\r\nroad  ">'
    assert pairs(html) == [("https://Example.com/dir/a.jpg", "A red bike on the road")]
    assert normalize_alt("  x \u3000 y ") == "x y"
    assert normalize_alt(None) == ""


def test_exact_duplicates_within_a_page_are_emitted_once_in_first_order():
    html = ('<img src="a.jpg" alt="A"><img src="b.jpg" alt="B"><img src="a.jpg" alt="A">'
            '<img src="a.jpg#other" alt=" A "><img src="a.jpg" alt="A2"><img src="c.jpg" alt="A">')
    assert pairs(html) == [
        ("https://Example.com/dir/a.jpg", "A"),
        ("https://Example.com/dir/b.jpg", "B"),
        ("https://Example.com/dir/a.jpg", "A2"),
        ("https://Example.com/dir/c.jpg", "A"),
    ]


# ----------------------------------------------------------------------------- charsets


def test_declared_charset_is_used():
    body = '<img src="a.jpg" alt="Пожарная безопасность">'.encode("cp1251")
    assert extract_pairs(body, PAGE, "windows-1251") == [("https://Example.com/dir/a.jpg", "Пожарная безопасность")]


def test_meta_charset_is_used_when_http_declares_none():
    body = '<html><head><meta charset="gbk"></head><img src="a.jpg" alt="中国新闻网"></html>'.encode("gbk")
    assert extract_pairs(body, PAGE) == [("https://Example.com/dir/a.jpg", "中国新闻网")]
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=shift_jis"><img src="a.jpg" alt="日本語">'
    assert extract_pairs(meta.encode("shift_jis"), PAGE) == [("https://Example.com/dir/a.jpg", "日本語")]


def test_undeclared_bytes_fall_back_to_utf8_then_cp1252():
    assert extract_pairs('<img src="a.jpg" alt="naïve">'.encode("utf-8"), PAGE) == [("https://Example.com/dir/a.jpg", "naïve")]
    assert extract_pairs('<img src="a.jpg" alt="naïve €">'.encode("cp1252"), PAGE) == [("https://Example.com/dir/a.jpg", "naïve €")]


def test_undecodable_bytes_give_no_pairs():
    assert extract_pairs(bytes(range(128, 256)) * 20 + b'<img src="a.jpg" alt="x">', PAGE) == []
    assert extract_pairs(b'<p>\x00\x00\x00binary<img src="a.jpg" alt="x">', PAGE) == []


def test_only_the_part_the_parser_needs_is_decoded():
    # bytes after the last image cannot change the pairs, so they need not decode
    body = '<img src="a.jpg" alt="café">'.encode() + bytes(range(128, 256)) * 20
    assert extract_pairs(body, PAGE) == [("https://Example.com/dir/a.jpg", "café")]


def test_utf16_pages_are_scanned_after_decoding():
    body = '<html><img src="a.jpg" alt="wide"></html>'.encode("utf-16")
    assert extract_pairs(body, PAGE) == [("https://Example.com/dir/a.jpg", "wide")]
    jis = '<meta charset="iso-2022-jp"><img src="a.jpg" alt="日本">'.encode("iso-2022-jp")
    assert extract_pairs(jis, PAGE) == [("https://Example.com/dir/a.jpg", "日本")]


# ----------------------------------------------------------------------------- pre-scan soundness


def _tag_soup(rng) -> str:
    alts = ['alt="x"', "alt='y z'", "alt=w", 'alt=""', "alt", 'ALT = " spaced "', 'alt="a>b"', "alt='\"'",
            'alt="&amp;lt;"', 'title="alt=q"', 'alt=" "']
    srcs = ['src="p.jpg"', "src=/q.png", 'src="a>b.gif"', "data-src='l.jpg'", 'srcset="s.jpg 2x"', 'src="#"', ""]
    pieces = ["<p>text</p>", "<!-- <img src=c.jpg alt=comment> -->", "<script>x = '<img src=s alt=s>'</script>",
              "<style>img{}</style>", '<a title="<img src=t alt=t>">link</a>', "<textarea><img alt=ta></textarea>",
              '<base href="https://b.example/">', "<svg><image href=v.png alt=svg /></svg>", "<br/>", "<div>",
              "</div>", "<select><option>o</option></select>", "<template><img src=tp alt=tp></template>", "\n", " "]
    out = []
    for _ in range(rng.randint(1, 25)):
        if rng.random() < 0.5:
            attrs = rng.sample(alts, rng.randint(0, 2)) + rng.sample(srcs, rng.randint(0, 2))
            rng.shuffle(attrs)
            sep = rng.choice([" ", "\n", "/", " / "])
            out.append(f"<{rng.choice(['img', 'IMG', 'image', 'imgx'])}{sep}{sep.join(attrs)}{rng.choice(['>', '/>', ' >'])}")
        else:
            out.append(rng.choice(pieces))
    if rng.random() < 0.1:
        out.append('<img src="cut.jpg" alt="unterminated')
    return "".join(out)


def test_scan_and_cut_give_exactly_the_pairs_of_a_full_parse():
    import random

    from operators.extract.alt_text import _pairs, page_pairs, pairs_from_text

    rng = random.Random(20261122)
    for _ in range(600):
        html = _tag_soup(rng)
        full = _pairs(html, PAGE)
        assert pairs_from_text(html, PAGE) == full, html
        assert page_pairs(html.encode("utf-8"), PAGE, "utf-8")[1] == full, html
