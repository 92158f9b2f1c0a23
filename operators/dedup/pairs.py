"""COYO-700M's in-run dedup: one pair per (image_phash, text), the one with the smallest id.

One keyed repartition, no driver state: every live row of an (image_phash, text) lands in the
same partition, which Ray emits as one block (the shuffle reduce never splits its output), and
that block is resolved there. Dropped rows are salted so they spread instead of piling up on
their null hash.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray.data

from operators.dedup.config import DedupConfig
from operators.dedup.tables import (
    SALT,
    as_string_column,
    drop_if_present,
    first_per_key,
    live_rows,
    mark_rows,
    match_salt,
    with_drop_columns,
)

STAGE = "dedup"
REASONS = ("pair_duplicate",)

KEYS = ("image_phash", "text")
# After the smallest id, these settle ties (one pair seen on several pages) so the kept row
# does not depend on the shuffle's order.
TIE_BREAKERS = ("page_url", "warc_path", "warc_offset")


def mark_pair_duplicates(ds: ray.data.Dataset, cfg: DedupConfig) -> ray.data.Dataset:
    """Among live rows, keep the smallest `id` per (image_phash, text); mark the others
    (drop_stage "dedup", reason "pair_duplicate"). Dropped rows pass through unchanged; the
    output has the input's columns; row order is not kept. No-op when cfg.pair_dedup is off."""
    if not cfg.pair_dedup:
        return ds
    return (
        ds.map_batches(_with_pair_salt, batch_format="pyarrow")
        .repartition(cfg.num_partitions, keys=[*KEYS, SALT])
        .map_batches(
            _mark_in_partition,
            batch_size=None,  # the whole partition: every live row of a key is in this batch
            batch_format="pyarrow",
        )
    )


def _with_pair_salt(table: pa.Table) -> pa.Table:
    table = with_drop_columns(table)
    for key in KEYS:
        table = as_string_column(table, key)
    eligible = live_rows(table)
    for key in KEYS:
        eligible &= table[key].is_valid().to_numpy(zero_copy_only=False)
    return table.append_column(SALT, match_salt(eligible))


def _mark_in_partition(table: pa.Table) -> pa.Table:
    if table.num_rows == 0:
        return drop_if_present(table, (SALT,))
    rows = np.flatnonzero(pc.equal(table[SALT], 0).to_numpy(zero_copy_only=False))
    order = ["id", *(c for c in TIE_BREAKERS if c in table.column_names)]
    kept = first_per_key(table.take(pa.array(rows, pa.int64())), KEYS, order)
    duplicate = np.zeros(table.num_rows, dtype=bool)
    duplicate[rows[~kept]] = True
    return drop_if_present(mark_rows(table, duplicate, STAGE, "pair_duplicate"), (SALT,))
