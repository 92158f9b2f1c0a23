"""Image bytes from the input WARCs themselves: a distributed join of the pairs with the image
response records staged from the same WARCs, on the normalised image URL. Only the pairs it
cannot serve are left to the HTTP fetcher (their fetch_status stays null).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray.data

from operators.dedup.tables import (
    SALT,
    column_or_nulls,
    drop_if_present,
    first_per_key,
    live_rows,
    match_salt,
    narrow_types,
    with_drop_columns,
)
from operators.extract import normalize_url_key

FETCH_STATUS_WARC = "warc"

# What the join writes on the pairs, in output order (a pair's own copies are replaced).
WRITES = (
    ("image_bytes", pa.binary()),
    ("fetch_status", pa.string()),
    ("image_warc_path", pa.string()),
    ("image_warc_offset", pa.int64()),
)

_KEY = "_image_url_key"
_RIGHT_SCHEMA = pa.schema(
    [(_KEY, pa.string()), ("image_bytes", pa.binary()), ("image_warc_path", pa.string()),
     ("image_warc_offset", pa.int64()), (SALT, pa.int64())]
)


def join_warc_images(pairs: ray.data.Dataset, images: ray.data.Dataset, num_partitions: int = 8) -> ray.data.Dataset:
    """Every pair row once, with `image_bytes` and `fetch_status="warc"` where an image record of
    its URL was staged (provenance in `image_warc_path`, `image_warc_offset`), else those null.

    `images` has url_key, image_bytes, warc_path, warc_offset (the staging IMAGE_SCHEMA). Several
    records of one url_key: the one with the smallest (warc_path, warc_offset) is used. Empty
    records are ignored. Rows already dropped never match and pass through with the new columns
    null. One left-outer join: dropped rows ride along instead of being split off and re-attached
    by a union, because a dataset feeding two branches is computed once per branch.
    """
    left = pairs.map_batches(_pairs_side, batch_format="pyarrow")
    right = (
        images.map_batches(_images_side, batch_format="pyarrow")
        .repartition(num_partitions, keys=[_KEY])
        .map_batches(
            _one_record_per_key,
            batch_size=None,  # the whole partition: every record of a url_key is in this batch
            batch_format="pyarrow",
        )
    )
    joined = left.join(right, "left_outer", num_partitions, on=(_KEY, SALT))
    return joined.map_batches(_set_fetch_status, batch_format="pyarrow")


def _pairs_side(table: pa.Table) -> pa.Table:
    table = drop_if_present(with_drop_columns(table), [name for name, _ in WRITES])
    urls = table["url"].to_pylist()
    live = live_rows(table)
    keys = [normalize_url_key(url) if ok and isinstance(url, str) and url else None for url, ok in zip(urls, live)]
    eligible = np.array([key is not None for key in keys], dtype=bool)
    return table.append_column(_KEY, pa.array(keys, pa.string())).append_column(SALT, match_salt(eligible))


def _images_side(table: pa.Table) -> pa.Table:
    image_bytes = table["image_bytes"].cast(pa.binary())
    nonempty = pc.fill_null(pc.greater(pc.binary_length(image_bytes), 0), False)
    keyed = table["url_key"].is_valid().to_numpy(zero_copy_only=False)
    usable = pa.array(nonempty.to_numpy(zero_copy_only=False) & keyed)
    return pa.table(
        {
            _KEY: table["url_key"].cast(pa.string()).filter(usable),
            "image_bytes": image_bytes.filter(usable),
            "image_warc_path": table["warc_path"].cast(pa.string()).filter(usable),
            "image_warc_offset": table["warc_offset"].cast(pa.int64()).filter(usable),
        }
    )


def _one_record_per_key(table: pa.Table) -> pa.Table:
    if table.num_rows == 0:
        return _RIGHT_SCHEMA.empty_table()
    chosen = first_per_key(table, [_KEY], ["image_warc_path", "image_warc_offset"])
    table = table.filter(pa.array(chosen))
    return table.append_column(SALT, pa.array(np.zeros(table.num_rows, dtype=np.int64)))


def _set_fetch_status(table: pa.Table) -> pa.Table:
    columns = {name: column_or_nulls(table, name, type_) for name, type_ in WRITES}
    found = columns["image_bytes"].is_valid().to_numpy(zero_copy_only=False)
    columns["fetch_status"] = pa.array(np.where(found, FETCH_STATUS_WARC, None), pa.string())
    table = drop_if_present(table, [*columns, _KEY, SALT])
    for name, column in columns.items():
        table = table.append_column(name, column)
    return narrow_types(table)
