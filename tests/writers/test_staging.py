"""Per-WARC staging: files complete only with their done-marker; stable ids and ids per path."""

import pyarrow.parquet as pq

from operators.base import pair_id
from operators.writers.staging import StagingArea, warc_id


def test_warc_id_is_stable_readable_and_distinct():
    a = warc_id("s3://b/crawl-data/CC-MAIN-2024-10/x/CC-MAIN-1-00001.warc.gz")
    b = warc_id("s3://b/other/CC-MAIN-1-00001.warc.gz")
    assert a.startswith("CC-MAIN-1-00001-") and a != b
    assert a == warc_id("s3://b/crawl-data/CC-MAIN-2024-10/x/CC-MAIN-1-00001.warc.gz")


def test_pair_id_is_stable_and_distinguishes_fields():
    assert pair_id("https://a/x.jpg", "a cat") == pair_id("https://a/x.jpg", "a cat")
    assert pair_id("https://a/x.jpg", "a cat") != pair_id("https://a/x.jpg", "a dog")
    assert pair_id("ab", "c") != pair_id("a", "bc")
    assert -(2**63) <= pair_id("u", "t") < 2**63


def test_commit_writes_files_then_marker(tmp_path):
    area = StagingArea(str(tmp_path))
    wid = warc_id("/data/a.warc.gz")
    writer = area.writer(wid, row_group_rows=3)
    for i in range(7):
        writer.add("pairs", {"id": i, "page_url": "p", "url": f"u{i}", "text": "t", "warc_path": "a",
                             "warc_offset": i, "crawl": "unknown"})
    assert area.read_marker(wid) is None  # not committed yet
    writer.commit({"fingerprint": "f"})
    marker = area.read_marker(wid)
    assert marker["rows"] == {"pairs": 7, "images": 0}
    assert pq.read_table(area.pairs_path(wid)).column("id").to_pylist() == list(range(7))
    assert pq.read_table(area.images_path(wid)).num_rows == 0  # empty but with its schema


def test_torn_marker_counts_as_not_done(tmp_path):
    area = StagingArea(str(tmp_path))
    path = area.marker_path("w")
    area.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    with open(path, "w") as fh:
        fh.write('{"rows": ')
    assert area.read_marker("w") is None
