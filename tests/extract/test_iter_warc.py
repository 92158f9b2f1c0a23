"""iter_warc: one pass over a WARC file gives pair rows, image rows and a funnel that
reconciles, with every kind of record and every kind of damage landing in its reason."""

from __future__ import annotations

import gzip
import random

import pytest

from operators.base import FunnelCounts
from operators.config import ConfigError, from_dict
from operators.extract import REASONS, ExtractConfig, iter_warc
from operators.readers import ENGINES
from tests.readers.loopback_s3 import loopback_s3
from tests.readers.warc_builder import build_warc, members, metadata, page, request, response, revisit, warcinfo

PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)
JPEG = b"\xff\xd8\xff\xe0" + bytes(100)


def run(path, **config):
    counts = FunnelCounts()
    items = list(iter_warc(str(path), ExtractConfig(**config), counts))
    pairs = [row for kind, row in items if kind == "pair"]
    images = [row for kind, row in items if kind == "image"]
    funnel = counts.to_dict()["extract"]
    assert funnel["in"] == funnel["kept"] + sum(funnel["dropped"].values())
    assert set(funnel["dropped"]) <= set(REASONS)
    return pairs, images, funnel


def every_kind_of_record():
    cat = page('<img src="/cat.jpg" alt="A cat">', '<img src="/dog.png" alt="A dog">')
    return [
        warcinfo(),
        request("http://a.com/"),
        response("http://a.com/", cat),
        metadata("http://a.com/"),
        revisit("http://a.com/"),
        response("http://a.com/empty", page('<img src="/x.jpg">')),
        response("http://a.com/404", cat, status="404 Not Found"),
        response("http://a.com/style.css", "body{}", content_type="text/css"),
        response("http://a.com/cat.jpg", JPEG, content_type="image/jpeg"),
        response("http://a.com/dog.png", PNG, content_type=None),  # sniffed by magic bytes
        response("http://a.com/gone.png", PNG, content_type="image/png", status="404 Not Found"),
        response("http://a.com/cut.jpg", JPEG, content_type="image/jpeg", warc_headers={"WARC-Truncated": "length"}),
        response("http://a.com/sniffed", cat, content_type=None),
        response("dns:a.com", "a.com. 300 IN A 1.2.3.4", content_type=None),
    ]


@pytest.fixture
def crawl_warc(tmp_path):
    data, offsets = build_warc(every_kind_of_record())
    path = tmp_path / "crawl-data" / "CC-MAIN-2021-04" / "part.warc.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return path, offsets


@pytest.mark.parametrize("engine", ENGINES)
def test_rows_and_funnel_for_every_kind_of_record(crawl_warc, engine):
    path, offsets = crawl_warc
    pairs, images, funnel = run(path, engine=engine)
    assert pairs == [
        {"page_url": "http://a.com/", "url": "http://a.com/cat.jpg", "text": "A cat",
         "warc_path": str(path), "warc_offset": offsets[2], "crawl": "CC-MAIN-2021-04"},
        {"page_url": "http://a.com/", "url": "http://a.com/dog.png", "text": "A dog",
         "warc_path": str(path), "warc_offset": offsets[2], "crawl": "CC-MAIN-2021-04"},
        {"page_url": "http://a.com/sniffed", "url": "http://a.com/cat.jpg", "text": "A cat",
         "warc_path": str(path), "warc_offset": offsets[12], "crawl": "CC-MAIN-2021-04"},
        {"page_url": "http://a.com/sniffed", "url": "http://a.com/dog.png", "text": "A dog",
         "warc_path": str(path), "warc_offset": offsets[12], "crawl": "CC-MAIN-2021-04"},
    ]
    assert images == [
        {"url_key": "http://a.com/cat.jpg", "url": "http://a.com/cat.jpg", "image_bytes": JPEG,
         "content_type": "image/jpeg", "warc_path": str(path), "warc_offset": offsets[8]},
        {"url_key": "http://a.com/dog.png", "url": "http://a.com/dog.png", "image_bytes": PNG,
         "content_type": "image/png", "warc_path": str(path), "warc_offset": offsets[9]},
    ]
    assert funnel == {
        "in": 14,
        "kept": 2,
        "dropped": {"not_response": 4, "no_pairs": 1, "http_error": 2, "not_html": 1, "image_record": 2,
                    "truncated": 1, "not_http": 1},
    }


def test_image_records_can_be_left_out(crawl_warc):
    pairs, images, funnel = run(crawl_warc[0], keep_image_records=False)
    assert images == [] and len(pairs) == 4
    assert funnel["dropped"]["not_html"] == 4 and "image_record" not in funnel["dropped"]


def test_size_limits(tmp_path):
    big_page = page('<img src="a.jpg" alt="big">') + "<!--" + "x" * 5000 + "-->"
    data, _ = build_warc([
        response("http://a.com/big", big_page),
        response("http://a.com/small", page('<img src="a.jpg" alt="small">')),
        response("http://a.com/huge.jpg", JPEG + bytes(5000), content_type="image/jpeg"),
    ])
    (tmp_path / "x.warc.gz").write_bytes(data)
    pairs, images, funnel = run(tmp_path / "x.warc.gz", max_html_bytes=2000, max_image_bytes=3000)
    assert [p["text"] for p in pairs] == ["small"] and images == []
    assert funnel["dropped"] == {"html_too_large": 1, "image_too_large": 1}


@pytest.mark.parametrize("engine", ENGINES)
def test_bad_input_corpus_lands_in_its_reasons_and_other_pages_still_extract(tmp_path, engine):
    good = [response(f"http://a.com/{i}", page(f'<img src="/{i}.jpg" alt="pic {i}">')) for i in range(6)]
    undecodable = response("http://a.com/bin", b"<html>" + bytes(range(128, 256)) * 40 + b'<img src=x alt=y>',
                           content_type="text/html")
    data, offsets = build_warc(good[:3] + [undecodable] + good[3:])
    parts = members(data, offsets)
    parts[1] = parts[1][: len(parts[1]) // 2]  # truncated gzip member in the middle
    parts[4] = gzip.compress(gzip.decompress(parts[4]).replace(b"Content-Length", b"Content-Lengthh", 1))
    parts[-1] = parts[-1][:-25]  # truncated at the end
    (tmp_path / "bad.warc.gz").write_bytes(b"".join(parts))
    pairs, _, funnel = run(tmp_path / "bad.warc.gz", engine=engine)
    assert [p["text"] for p in pairs] == ["pic 0", "pic 2", "pic 4"]
    assert funnel == {"in": 7, "kept": 3,
                      "dropped": {"truncated": 2, "broken_record": 1, "undecodable": 1}}


@pytest.mark.parametrize(
    "content, reason",
    [(b"", "empty_file"), (random.Random(3).randbytes(10_000), "not_warc")],
    ids=["empty", "random-bytes"],
)
def test_files_that_are_not_warcs(tmp_path, content, reason):
    (tmp_path / "x.warc.gz").write_bytes(content)
    assert run(tmp_path / "x.warc.gz") == ([], [], {"in": 1, "kept": 0, "dropped": {reason: 1}})


def test_missing_file_is_counted_not_raised(tmp_path):
    assert run(tmp_path / "gone.warc.gz", io_retries=0) == ([], [], {"in": 1, "kept": 0, "dropped": {"io_error": 1}})


def test_uncompressed_warc(tmp_path):
    data, offsets = build_warc([warcinfo(), response("http://a.com/", page('<img src="a.jpg" alt="x">'))], compress=False)
    (tmp_path / "x.warc").write_bytes(data)
    pairs, _, funnel = run(tmp_path / "x.warc")
    assert [(p["url"], p["warc_offset"]) for p in pairs] == [("http://a.com/a.jpg", offsets[1])]
    assert funnel == {"in": 2, "kept": 1, "dropped": {"not_response": 1}}


def test_engines_give_identical_items(crawl_warc):
    path, _ = crawl_warc
    assert run(path, engine="fastwarc") == run(path, engine="warcio")


def test_reads_from_s3(crawl_warc):
    pytest.importorskip("moto.server")
    import s3fs

    with loopback_s3("warcs") as options:
        s3fs.S3FileSystem(**options).pipe("warcs/crawl-data/CC-MAIN-2022-05/a.warc.gz", crawl_warc[0].read_bytes())
        counts = FunnelCounts()
        items = list(iter_warc("s3://warcs/crawl-data/CC-MAIN-2022-05/a.warc.gz", ExtractConfig(), counts, options))
    pairs = [row for kind, row in items if kind == "pair"]
    assert len(pairs) == 4 and {p["crawl"] for p in pairs} == {"CC-MAIN-2022-05"}
    assert pairs[0]["warc_path"] == "s3://warcs/crawl-data/CC-MAIN-2022-05/a.warc.gz"
    assert counts.to_dict()["extract"]["in"] == 14


def test_config_from_yaml_dict_and_validation():
    cfg = from_dict(ExtractConfig, {"engine": "warcio", "max_html_bytes": "1000", "keep_image_records": "false"})
    assert cfg == ExtractConfig(engine="warcio", max_html_bytes=1000, keep_image_records=False)
    assert ExtractConfig() == ExtractConfig(engine="fastwarc", max_html_bytes=5_000_000, keep_image_records=True,
                                            max_image_bytes=20_000_000, io_retries=3)
    with pytest.raises(ConfigError, match="engine"):
        ExtractConfig(engine="lxml")
    with pytest.raises(ConfigError):
        from_dict(ExtractConfig, {"max_html_bytes": 0})
