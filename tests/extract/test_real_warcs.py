"""The development WARCs in ../shared/data/warc (skipped when absent): exact pair counts,
pairs checked by hand against the pages' HTML, and both engines giving identical output."""

from __future__ import annotations

import pytest

from operators.base import FunnelCounts
from operators.extract import ExtractConfig, iter_warc

# per file: pairs, image rows, extract funnel
EXPECTED = {
    "cc-sample.warc.gz": (30, 0, {"in": 50, "kept": 8, "dropped": {"no_pairs": 8, "not_response": 34}}),
    "iana-wget.warc.gz": (16, 5, {"in": 343, "kept": 15, "dropped": {
        "http_error": 4, "image_record": 5, "no_pairs": 1, "not_html": 23, "not_response": 295}}),
}
# (page_url, url, text), read off the raw <img> tags
BY_HAND = [
    ("http://003338.cn/l41/481397.html", "http://www.chinanews.com/images/banner11.gif", "中国新闻网"),
    ("http://01spb.ru/company/", "http://01spb.ru/logo.png", "Стратегия пожарной безопасности"),  # windows-1251
    ("http://06.live-radsport.ch/fahrerstatistik_801/Anthony_Ravard.html",
     "http://ads.adtiger.de/adnoscript.php?pid=21715&ord=[timestamp]", "Hier klicken!"),
    ("http://0760.jxtdw.com/area/sanxiang/", "http://img3.jxtdw.com/logo200/0760_logo.gif", "中山英才网"),  # gb2312
    ("http://0900-hovenier.nl/gelderland/oosterbeek/",
     "http://0900-hovenier.nl/wp-content/themes/Bluemonkey/images/naambellen-hoe-werkt-het.jpg",
     "Schematische weergave van de werking van naambellen"),
    ("http://www.iana.org/numbers", "http://www.iana.org/_img/2013.1/rir-map.svg", "Map of RIRs"),
]
NOT_PAIRS = [
    ("http://01spb.ru/company/", "https://mc.yandex.ru/watch/40512705"),  # alt=""
    ("http://003338.cn/l41/481397.html", "http://003338.cn/images/201608010001.jpg"),  # no alt
]


def extract(path, engine):
    counts = FunnelCounts()
    items = list(iter_warc(str(path), ExtractConfig(engine=engine), counts))
    return items, counts.to_dict()["extract"]


@pytest.fixture(scope="module")
def extracted(shared_warcs):
    return {(p.name, engine): extract(p, engine) for p in shared_warcs for engine in ("fastwarc", "warcio")}


def test_exact_counts_per_file(extracted):
    for (name, engine), (items, funnel) in extracted.items():
        if name not in EXPECTED:
            continue
        n_pairs, n_images, expected_funnel = EXPECTED[name]
        assert sum(kind == "pair" for kind, _ in items) == n_pairs, (name, engine)
        assert sum(kind == "image" for kind, _ in items) == n_images, (name, engine)
        assert funnel == expected_funnel, (name, engine)


def test_pairs_checked_by_hand(extracted):
    found = {(row["page_url"], row["url"], row["text"])
             for (_, engine), (items, _) in extracted.items() if engine == "fastwarc"
             for kind, row in items if kind == "pair"}
    for pair in BY_HAND:
        assert pair in found
    urls = {(page_url, url) for page_url, url, _ in found}
    for pair in NOT_PAIRS:
        assert pair not in urls


def test_provenance_points_at_the_response_record(extracted, shared_warcs):
    from operators.readers import iter_records

    for path in shared_warcs:
        items, _ = extracted[(path.name, "fastwarc")]
        with open(path, "rb") as stream:
            records = {r.offset: r for r in iter_records(stream, "fastwarc", FunnelCounts())}
        for kind, row in items:
            record = records[row["warc_offset"]]
            assert record.rec_type == "response" and row["warc_path"] == str(path)
            assert record.target_uri == (row["page_url"] if kind == "pair" else row["url"])


def test_both_engines_give_identical_output(extracted, shared_warcs):
    for path in shared_warcs:
        assert extracted[(path.name, "fastwarc")] == extracted[(path.name, "warcio")]
