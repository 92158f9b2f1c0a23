"""The sample generator: byte-for-byte deterministic, valid Common Crawl-shaped WARCs, every planted case present."""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import better_profanity
import gcld3
import pytest
from PIL import Image
from warcio.archiveiterator import ArchiveIterator

from jobs.sample import (
    CRAWL,
    IMAGE_FAILURES,
    MISSING_HOST,
    NON_ENGLISH_ALTS,
    TEXT_CATEGORIES,
    TRICKY_IMAGES,
    generate_sample,
    main,
)

WARC_RE = re.compile(
    r"crawl-data/CC-MAIN-2024-10/segments/1709000000000\.11/warc/CC-MAIN-20240301000000-20240301010000-\d{5}\.warc\.gz"
)


def _read(paths: list[str]) -> list[dict]:
    """Every record of the sample as a dict (file index, type, URI, HTTP status/type, payload)."""
    out = []
    for index, path in enumerate(paths):
        with open(path, "rb") as stream:
            for record in ArchiveIterator(stream):
                http = record.http_headers if record.rec_type in ("request", "response", "revisit") else None
                out.append({
                    "file": index,
                    "type": record.rec_type,
                    "uri": record.rec_headers.get_header("WARC-Target-URI"),
                    "headers": record.rec_headers,
                    "status": http.get_statuscode() if http is not None and record.rec_type != "request" else None,
                    "content_type": http.get_header("Content-Type") if http is not None else None,
                    "body": record.content_stream().read(),
                })
    return out


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return generate_sample(tmp_path_factory.mktemp("sample"))  # the defaults: 200 pages, seed 0, 4 files


@pytest.fixture(scope="module")
def records(sample):
    return _read(sample.warc_paths)


@pytest.fixture(scope="module")
def pages(records):
    return [r for r in records if r["type"] == "response" and (r["content_type"] or "").startswith("text/html")]


@pytest.fixture(scope="module")
def image_bodies(records):
    """url -> list of payloads of the image response records (the duplicate record URL has two)."""
    out: dict[str, list[bytes]] = {}
    for r in records:
        if r["type"] == "response" and not (r["content_type"] or "").startswith(("text/", "application/j")):
            out.setdefault(r["uri"], []).append(r["body"])
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ----------------------------------------------------------------------------- determinism and layout


def test_same_arguments_give_identical_bytes_and_another_seed_does_not(tmp_path):
    first = generate_sample(tmp_path / "a", pages=10, seed=3, files=2)
    again = generate_sample(tmp_path / "b", pages=10, seed=3, files=2)
    other = generate_sample(tmp_path / "c", pages=10, seed=4, files=2)
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert len(a) == 4  # two WARCs, the manifest, the expected facts
    assert a == b
    assert first.expected == again.expected
    assert a.keys() == c.keys()
    assert all(a[name] != c[name] for name in a if name.endswith(".warc.gz"))
    assert first.expected["pairs"] != other.expected["pairs"]


def test_layout_and_manifest_are_common_crawl_shaped(sample):
    root = Path(sample.output_dir)
    relative = [str(Path(p).relative_to(root)) for p in sample.warc_paths]
    assert len(relative) == 4 and all(WARC_RE.fullmatch(p) for p in relative)
    assert relative[0].endswith("-00000.warc.gz") and relative[3].endswith("-00003.warc.gz")
    raw = Path(sample.manifest_path).read_bytes()
    assert Path(sample.manifest_path) == root / "warc.paths.gz"
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"  # gzip, mtime 0
    assert gzip.decompress(raw).decode().splitlines() == relative
    assert json.loads((root / "sample-expected.json").read_text(encoding="utf-8")) == sample.expected


def test_each_record_is_its_own_gzip_member(sample, records):
    members = 0
    for path in sample.warc_paths:
        data = Path(path).read_bytes()
        while data:
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            inflater.decompress(data)
            assert inflater.eof
            data = inflater.unused_data
            members += 1
    assert members == len(records)


def test_warcs_hold_warcinfo_request_response_metadata_and_a_revisit(sample, records):
    expected = sample.expected
    types = Counter(r["type"] for r in records)
    assert dict(types) == expected["records"]
    assert types["warcinfo"] == 4 and types["revisit"] == 1
    assert types["request"] == types["response"] == types["metadata"] == 200 + 4 + sample.image_records
    assert sample.image_records == expected["responses"]["image"] > 500
    for index in range(4):
        first = next(r for r in records if r["file"] == index)
        assert first["type"] == "warcinfo"
        assert f"isPartOf: {CRAWL}" in first["body"].decode()
    by_id = {r["headers"].get_header("WARC-Record-ID"): r for r in records}
    assert len(by_id) == len(records)  # record ids are unique
    for r in records:
        assert r["headers"].protocol == "WARC/1.0"
        assert r["headers"].get_header("WARC-Date").startswith("2024-03-01T00:")
        if r["type"] == "response":  # request, response, metadata linked like Common Crawl's
            request = by_id[r["headers"].get_header("WARC-Concurrent-To")]
            assert request["type"] == "request" and request["uri"] == r["uri"]
    revisit = next(r for r in records if r["type"] == "revisit")
    original = by_id[revisit["headers"].get_header("WARC-Refers-To")]
    assert original["type"] == "response" and original["uri"] == revisit["uri"]
    assert revisit["headers"].get_header("WARC-Payload-Digest") == original["headers"].get_header("WARC-Payload-Digest")


def test_http_statuses_and_non_html_responses(sample, records, pages):
    responses = [r for r in records if r["type"] == "response"]
    statuses = Counter(r["status"] for r in pages)
    assert statuses == {"200": 198, "404": 1, "301": 1}
    assert sorted(r["uri"] for r in pages if r["status"] != "200") == sample.expected["responses"]["http_error_pages"]
    types = {r["content_type"] for r in responses}
    assert {"text/css", "application/javascript", "application/json", "text/plain"} <= types
    assert b"<img" in next(r["body"] for r in responses if r["content_type"] == "application/json")


def test_latin1_page_declares_its_charset_only_in_a_meta_tag(pages, sample):
    page = next(r for r in pages if b"<meta charset=iso-8859-1>" in r["body"])
    assert page["content_type"] == "text/html"
    with pytest.raises(UnicodeDecodeError):
        page["body"].decode("utf-8")
    text = page["body"].decode("iso-8859-1")
    accented = [p[2] for p in sample.expected["pairs"] if p[0] == page["uri"] and "é" in p[2]]
    assert accented and all(t.split()[0] in text for t in accented)


def test_html_exercises_every_extraction_rule(pages):
    html = b"\n".join(r["body"] for r in pages)
    for needle in (b"<base href=", b' 1600w', b'data-src="', b'data-original="', b'src="data:image/gif',
                   b'#gallery"', b'src="javascript:', b'src="//', b'src="../', b"<IMG ", b"&amp;lt;",
                   b"&quot;", b"&#39;", b"&eacute;", b'alt=""', b"<picture>", b"ftp://"):
        assert needle in html, needle


# ----------------------------------------------------------------------------- planted texts


def test_expected_pairs_are_consistent_with_the_html(sample, pages):
    expected = sample.expected
    pairs = expected["pairs"]
    assert expected["extract"]["pairs"] == len(pairs) > 800
    assert expected["extract"]["pages_with_pairs"] == 196  # minus 404, 301, no images, no usable alt
    assert expected["extract"]["in_page_duplicates"] > 0 and expected["extract"]["unusable_src"] > 0
    keys = [(p[0], p[1], p[2]) for p in pairs]
    assert len(set(keys)) == len(keys)  # one pair per (page, url, text): in-page duplicates collapse
    page_urls = {r["uri"] for r in pages}
    assert {p[0] for p in pairs} <= page_urls
    assert Counter(p[3] for p in pairs) == {k: v for k, v in expected["text"].items() if v}


def test_every_text_category_is_planted_with_its_rule(sample):
    expected = sample.expected
    assert all(expected["text"][name] > 0 for name in TEXT_CATEGORIES)
    assert 300 <= expected["text_kept"] == expected["text"]["caption"] < 1000
    by_category: dict[str, list[str]] = {}
    for _page, _url, text, category, _image in expected["pairs"]:
        by_category.setdefault(category, []).append(text)
    assert all(len(t) <= 5 for t in by_category["text_too_short"])
    assert all(len(t) > 1000 for t in by_category["text_too_long"])
    assert all(len(t) > 5 and len(t.split()) < 3 for t in by_category["too_few_words"])
    assert all(len(t.split()) > 256 and len(t) <= 1000 for t in by_category["too_many_words"])
    for category in ("caption", "not_english", "no_noun", "nsfw_text", "text_too_frequent"):
        assert all(5 < len(t) <= 1000 and 3 <= len(t.split()) <= 256 for t in by_category[category]), category
    assert set(by_category["not_english"]) <= set(NON_ENGLISH_ALTS)
    assert {t for t in by_category["text_too_frequent"]} == set(expected["boilerplate"])
    assert any("&" in t for t in by_category["caption"]) and any('"' in t for t in by_category["caption"])
    assert "Price list &lt;2024&gt; pinned on a garden shed door" in by_category["caption"]  # decoded once


def test_boilerplate_alts_repeat_more_than_ten_times_across_files(sample, pages):
    for phrase, count in sample.expected["boilerplate"].items():
        assert count > 10
        attr = f'alt="{phrase}"'.encode()
        assert sum(r["body"].count(attr) for r in pages) == count
        assert len({r["file"] for r in pages if attr in r["body"]}) >= 2


def _profanity_words() -> list[str]:
    path = Path(better_profanity.__file__).with_name("profanity_wordlist.txt")
    return [w.strip().lower() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]


def test_nsfw_words_only_where_planted(sample):
    words = _profanity_words()
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    matcher = re.compile(rf"(?<!\w)({alternatives})(?!\w)")
    assert set(sample.expected["nsfw_words"]) <= set(words)
    hits = Counter(p[3] for p in sample.expected["pairs"] if matcher.search(p[2].lower()))
    assert hits == {"nsfw_text": sample.expected["text"]["nsfw_text"]}


def test_language_of_planted_texts_per_cld3(sample):
    detector = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)

    def english(text: str) -> bool:
        result = detector.FindLanguage(text=text)
        return result.language == "en" and result.probability >= 0.5

    pairs = sample.expected["pairs"]
    captions = [p[2] for p in pairs if p[3] == "caption"]
    assert sum(map(english, captions)) >= 0.99 * len(captions)  # CLD3 misreads ~0.4 % of short English
    for category in ("nsfw_text", "no_noun", "text_too_frequent"):
        assert all(english(p[2]) for p in pairs if p[3] == category), category
    assert not any(english(p[2]) for p in pairs if p[3] == "not_english")


# ----------------------------------------------------------------------------- planted images


def test_image_records_decode_except_the_planted_broken_ones(sample, image_bodies):
    planted = sample.expected["images"]["planted"]
    assert set(planted) == set(IMAGE_FAILURES + TRICKY_IMAGES)
    broken = {planted[name] for name in ("image_truncated", "image_empty", "image_not_image")}
    failed = set()
    for url, bodies in image_bodies.items():
        try:
            with Image.open(io.BytesIO(bodies[0])) as img:
                img.load()
        except Exception:
            failed.add(url)
    assert failed == broken
    assert image_bodies[planted["image_empty"]] == [b""]
    assert image_bodies[planted["image_not_image"]][0].startswith(b"<!DOCTYPE html>")


def _coyo_reason(data: bytes) -> str | None:
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
    if len(data) < 5 * 1024:
        return "image_too_small_bytes"
    if min(width, height) < 200:
        return "image_too_small"
    if max(width, height) / min(width, height) > 3:
        return "image_aspect_ratio"
    return None


def _record_status(expected: dict) -> dict[str, str]:
    """image record URL -> planted status of the pairs that point at it."""
    variant = expected["images"]["url_key_variant"]
    return {variant["record_url"] if p[1] == variant["pair_url"] else p[1]: p[4] for p in expected["pairs"]}


def test_good_images_pass_coyo_rules_and_planted_ones_break_exactly_theirs(sample, image_bodies):
    status = _record_status(sample.expected)
    good = [u for u, s in status.items() if s in ("ok",) + TRICKY_IMAGES]
    assert len(good) == len(set(good)) > 500
    assert all(_coyo_reason(image_bodies[u][0]) is None for u in good)
    planted = sample.expected["images"]["planted"]
    for reason in ("image_too_small_bytes", "image_too_small", "image_aspect_ratio"):
        assert _coyo_reason(image_bodies[planted[reason]][0]) == reason
    modes = {}
    for name in TRICKY_IMAGES:
        with Image.open(io.BytesIO(image_bodies[planted[name]][0])) as img:
            modes[name] = (img.format, img.mode)
    assert modes == {
        "cmyk_jpeg": ("JPEG", "CMYK"), "grayscale_jpeg": ("JPEG", "L"), "palette_png": ("PNG", "P"),
        "rgba_png": ("PNG", "RGBA"), "png_16bit": ("PNG", "I;16"), "gif": ("GIF", "P"),
        "octet_stream_jpeg": ("JPEG", "RGB"),
    }
    formats = sample.expected["images"]["formats"]
    assert formats["image/jpeg"] > formats["image/png"] > 10 and formats["image/webp"] > 10
    assert formats["application/octet-stream"] == 1


def test_photos_have_distinct_phashes_except_the_planted_duplicates(sample, image_bodies):
    import imagehash

    status = _record_status(sample.expected)
    hashes = {}
    for url, bodies in image_bodies.items():
        if status.get(url) == "ok":
            with Image.open(io.BytesIO(bodies[0])) as img:
                img.draft("RGB", (64, 64))  # JPEGs decode at 1/8 scale: fast, still a stable perceptual hash
                hashes[url] = str(imagehash.phash(img))
    repeated = {h for h, n in Counter(hashes.values()).items() if n > 1}
    images = sample.expected["images"]
    planted = [images["duplicate_bytes_urls"], images["phash_text_duplicate"]["urls"]]
    assert repeated == {hashes[urls[0]] for urls in planted}
    for first, second in planted:
        assert image_bodies[first] == image_bodies[second]


def test_duplicates_and_url_key_variant(sample, records, image_bodies, pages):
    images = sample.expected["images"]
    dup = images["phash_text_duplicate"]
    assert dup["texts"][0] == dup["texts"][1]
    assert dup["urls"][0] != dup["urls"][1] and dup["pages"][0] != dup["pages"][1]
    same = images["same_pair_on_two_pages"]
    assert same["urls"][0] == same["urls"][1] and same["texts"][0] == same["texts"][1]
    assert same["pages"][0] != same["pages"][1] and len(image_bodies[same["urls"][0]]) == 1
    twice = [r for r in records if r["type"] == "response" and r["uri"] == images["duplicate_record_url"]]
    assert len(twice) == 2 and twice[0]["body"] == twice[1]["body"] and twice[0]["file"] != twice[1]["file"]
    variant = images["url_key_variant"]
    assert any(f'src="{variant["src"]}"'.encode() in r["body"] for r in pages)
    assert variant["record_url"] in image_bodies and variant["src"] not in image_bodies
    parts = urlsplit(variant["record_url"])
    port = 443 if parts.scheme == "https" else 80
    assert variant["src"].lower() == f"{parts.scheme}://{parts.hostname}:{port}{parts.path}"
    assert images["cross_file_records"] > 0


def test_images_without_a_record_are_all_on_the_invalid_host(sample, image_bodies):
    pairs = sample.expected["pairs"]
    variant = sample.expected["images"]["url_key_variant"]
    missing = [p for p in pairs if p[4] == "missing"]
    assert all(urlsplit(p[1]).hostname == MISSING_HOST and p[1] not in image_bodies for p in missing)
    with_record = [p for p in pairs if p[4] != "missing"]
    assert all(p[1] in image_bodies for p in with_record if p[1] != variant["pair_url"])
    assert variant["pair_url"] in {p[1] for p in with_record}
    captions = [p for p in pairs if p[3] == "caption"]
    assert 0 < sample.expected["images"]["caption_pairs_missing"] == sum(p[4] == "missing" for p in captions)
    assert len(missing) < 0.2 * len(pairs)  # a minority
    assert all(urlsplit(u).hostname != MISSING_HOST for u in image_bodies)


# ----------------------------------------------------------------------------- small samples and the CLI


def test_smallest_sample_still_plants_everything(tmp_path):
    info = generate_sample(tmp_path, pages=8, seed=1, files=1)
    expected = info.expected
    assert all(expected["text"][name] > 0 for name in TEXT_CATEGORIES)
    assert all(count > 10 for count in expected["boilerplate"].values())
    assert set(expected["images"]["planted"]) == set(IMAGE_FAILURES + TRICKY_IMAGES)
    assert len(info.warc_paths) == 1 and expected["records"]["revisit"] == 1


def test_extractor_finds_exactly_the_expected_pairs(sample):
    extract = pytest.importorskip("operators.extract")
    from operators.base import FunnelCounts

    counts = FunnelCounts()
    got = []
    for path in sample.warc_paths:
        got += [(row["page_url"], row["url"], row["text"])
                for kind, row in extract.iter_warc(path, extract.ExtractConfig(), counts) if kind == "pair"]
    assert got == [tuple(p[:3]) for p in sample.expected["pairs"]]


def test_main_writes_a_sample_and_rejects_bad_arguments(tmp_path, capsys):
    assert main(["--output", str(tmp_path / "s"), "--pages", "8", "--files", "2", "--seed", "9"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert len(summary["warc_paths"]) == 2 and all(Path(p).is_file() for p in summary["warc_paths"])
    assert Path(summary["manifest"]).is_file() and summary["pages"] == 8
    with pytest.raises(SystemExit):
        main(["--output", str(tmp_path / "t"), "--pages", "7"])
    with pytest.raises(ValueError):
        generate_sample(tmp_path / "u", pages=20, files=0)
