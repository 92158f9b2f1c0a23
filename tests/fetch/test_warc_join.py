"""The WARC image join on a local Ray: pairs get the bytes of their image's record from the
input WARCs (one record per url_key, chosen deterministically), every pair row comes out once,
and rows already dropped are untouched."""

from __future__ import annotations

import pyarrow as pa
import ray

from operators.extract import normalize_url_key
from operators.fetch.warc_join import join_warc_images
from operators.writers.staging import IMAGE_SCHEMA, PAIR_SCHEMA

PAIRS = PAIR_SCHEMA.append(pa.field("drop_stage", pa.string())).append(pa.field("drop_reason", pa.string()))
ADDED = [("image_bytes", pa.binary()), ("fetch_status", pa.string()), ("image_warc_path", pa.string()),
         ("image_warc_offset", pa.int64())]


def _pair(id_, url, drop=None, page="http://example.com/page"):
    stage, reason = drop or (None, None)
    return {"id": id_, "page_url": page, "url": url, "text": f"alt {id_}", "warc_path": "s3://cc/w1.warc.gz",
            "warc_offset": 100 * id_, "crawl": "CC-MAIN-2024-10", "drop_stage": stage, "drop_reason": reason}


def _image(url, data, warc_path, offset):
    return {"url_key": normalize_url_key(url), "url": url, "image_bytes": data, "content_type": "image/jpeg",
            "warc_path": warc_path, "warc_offset": offset}


def test_join_fills_found_images_once_per_pair_and_leaves_the_rest(ray_session):
    pairs = pa.Table.from_pylist(
        [
            _pair(1, "http://Example.com:80/a.jpg"),  # two records for its url_key: the first by (warc_path, offset)
            _pair(2, "http://example.com/missing.jpg"),  # no record: left to the HTTP fetcher
            _pair(3, "http://example.com/a.jpg", drop=("text", "too_short")),  # dropped: never matched
            _pair(4, "http://example.com/c.png"),  # its only record is empty: not found
            _pair(5, "http://example.com/a.jpg#top", page="http://example.com/other"),  # same image, another page
            _pair(6, "https://example.com/d.gif"),
            _pair(7, None),
        ],
        schema=PAIRS,
    )
    images = pa.Table.from_pylist(
        [
            _image("http://example.com/a.jpg", b"from-b", "s3://cc/b.warc.gz", 5),
            _image("http://example.com/a.jpg", b"from-a-late", "s3://cc/a.warc.gz", 900),
            _image("http://example.com/a.jpg", b"from-a", "s3://cc/a.warc.gz", 40),
            _image("http://example.com/c.png", b"", "s3://cc/a.warc.gz", 70),
            _image("https://example.com/d.gif", b"GIF89a", "s3://cc/c.warc.gz", 8),
            _image("http://example.com/unused.jpg", b"nobody", "s3://cc/c.warc.gz", 9),
        ],
        schema=IMAGE_SCHEMA,
    )
    pairs_ds = ray.data.from_arrow([pairs.slice(0, 3), pairs.slice(3)])
    images_ds = ray.data.from_arrow([images.slice(0, 2), images.slice(2)])
    out = pa.concat_tables(ray.get(join_warc_images(pairs_ds, images_ds, num_partitions=3).to_arrow_refs()))

    assert out.num_rows == pairs.num_rows
    assert out.schema.remove_metadata() == pa.schema(list(PAIRS) + [pa.field(n, t) for n, t in ADDED])
    rows = {r["id"]: r for r in out.to_pylist()}
    assert sorted(rows) == [1, 2, 3, 4, 5, 6, 7]
    added = [name for name, _ in ADDED]
    got = {i: tuple(r[name] for name in added) for i, r in rows.items()}
    found_a = (b"from-a", "warc", "s3://cc/a.warc.gz", 40)
    nothing = (None, None, None, None)
    assert got == {1: found_a, 2: nothing, 3: nothing, 4: nothing, 5: found_a,
                   6: (b"GIF89a", "warc", "s3://cc/c.warc.gz", 8), 7: nothing}
    for i, original in enumerate(pairs.to_pylist(), start=1):  # the pair's own columns are untouched
        assert {k: rows[i][k] for k in PAIRS.names} == original
