"""COYO-700M's reference dedup: drop images whose pHash is in the tables of public datasets
(ImageNet, COCO, ...), so the dataset can be evaluated on them. Exact matching is one hash-join
on image_phash; near matching (Hamming <= k) joins on k+1 band keys and verifies the distance.
Both consume the input once, in one stream: a dataset feeding two branches is run once per branch.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray.data

from operators.dedup.config import DedupConfig
from operators.dedup.near import band_keys, hamming, parse_phashes
from operators.dedup.tables import (
    SALT,
    as_string_column,
    column_or_nulls,
    drop_if_present,
    live_rows,
    mark_rows,
    match_salt,
    narrow_types,
    with_drop_columns,
)
from operators.writers import storage

STAGE = "dedup"
REASONS = ("reference_duplicate", "reference_near_duplicate")

PHASH = "image_phash"

# private columns, gone from the output
_HIT = "_reference_hit"
_TOKEN = "_row_token"  # one random id per input row: its carrier and probe rows share it
_BAND = "_band_key"
_PROBE = "_probe_hash"  # set on probe rows only, so null marks a carrier
_REFERENCE = "_reference_hash"
_DISTANCE = "_distance"


def mark_reference_duplicates(
    ds: ray.data.Dataset, cfg: DedupConfig, storage_options: dict[str, Any] | None = None
) -> ray.data.Dataset:
    """Mark live rows whose `image_phash` is in `cfg.reference_tables` (drop_stage "dedup").

    max_hamming 0: reason "reference_duplicate" for an exact hash match. max_hamming k > 0: also
    "reference_near_duplicate" for a reference hash within Hamming distance k (a row matching
    several is marked once, "reference_duplicate" when one match is exact). Dropped rows pass
    through unchanged; the output has the input's columns; row order is not kept.
    """
    if not cfg.reference_tables:
        return ds
    reference = read_reference_hashes(cfg.reference_tables, storage_options, cfg.num_partitions)
    if cfg.max_hamming == 0:
        return _mark_exact(ds, reference, cfg.num_partitions)
    return _mark_near(ds, reference, cfg.max_hamming, cfg.num_partitions)


def read_reference_hashes(
    tables: Sequence[str], storage_options: dict[str, Any] | None = None, num_partitions: int = 8
) -> ray.data.Dataset:
    """The distinct valid pHashes (lower-case hex) of the reference tables: one column, image_phash."""
    datasets = []
    for url in tables:
        fs, path = storage.resolve(url, storage_options)
        datasets.append(ray.data.read_parquet(path, filesystem=storage.arrow_filesystem(fs), columns=[PHASH]))
    hashes = datasets[0].union(*datasets[1:]) if len(datasets) > 1 else datasets[0]
    return (
        hashes.map_batches(_valid_hashes, batch_format="pyarrow")
        .repartition(num_partitions, keys=[PHASH])
        .map_batches(_distinct_hashes, batch_size=None, batch_format="pyarrow")
    )


def _valid_hashes(table: pa.Table) -> pa.Table:
    hashes = pc.utf8_lower(table[PHASH].cast(pa.string()))
    valid = pc.fill_null(pc.match_substring_regex(hashes, r"^[0-9a-f]{16}$"), False)
    return pa.table({PHASH: hashes.filter(valid)})


def _distinct_hashes(table: pa.Table) -> pa.Table:
    return pa.table({PHASH: pc.unique(table[PHASH].combine_chunks())})


# ----------------------------------------------------------------------------- exact


def _mark_exact(ds: ray.data.Dataset, reference: ray.data.Dataset, num_partitions: int) -> ray.data.Dataset:
    left = ds.map_batches(_with_exact_salt, batch_format="pyarrow")
    right = reference.map_batches(_exact_right, batch_format="pyarrow")
    joined = left.join(right, "left_outer", num_partitions, on=(PHASH, SALT))
    return joined.map_batches(_mark_exact_hits, batch_format="pyarrow")


def _with_exact_salt(table: pa.Table) -> pa.Table:
    table = as_string_column(with_drop_columns(table), PHASH)
    eligible = live_rows(table) & table[PHASH].is_valid().to_numpy(zero_copy_only=False)
    return table.append_column(SALT, match_salt(eligible))


def _exact_right(table: pa.Table) -> pa.Table:
    n = table.num_rows
    return table.append_column(SALT, pa.array(np.zeros(n, dtype=np.int64))).append_column(
        _HIT, pa.array(np.ones(n, dtype=bool))
    )


def _mark_exact_hits(table: pa.Table) -> pa.Table:
    hit = column_or_nulls(table, _HIT, pa.bool_()).is_valid().to_numpy(zero_copy_only=False)
    table = mark_rows(table, hit, STAGE, "reference_duplicate")
    return narrow_types(drop_if_present(table, (SALT, _HIT)))


# ----------------------------------------------------------------------------- near
#
# Each live row becomes one carrier (the row itself, never matching) plus k+1 light probe rows
# (only token, band key and hash; every other column null). Probes join the reference's band
# rows; the verified ones then meet their carrier again in a repartition by token, which marks
# it. The heavy columns travel once through each of the two shuffles, never k+1 times.


def _mark_near(
    ds: ray.data.Dataset, reference: ray.data.Dataset, max_hamming: int, num_partitions: int
) -> ray.data.Dataset:
    k = {"max_hamming": max_hamming}
    left = ds.map_batches(_with_band_probes, fn_kwargs=k, batch_format="pyarrow")
    right = reference.map_batches(_reference_bands, fn_kwargs=k, batch_format="pyarrow")
    joined = left.join(right, "left_outer", num_partitions, on=(_BAND, SALT))
    verified = joined.map_batches(_keep_carriers_and_verified, fn_kwargs=k, batch_format="pyarrow")
    return verified.repartition(num_partitions, keys=[_TOKEN]).map_batches(
        _mark_verified_carriers,
        batch_size=None,  # the whole partition: a token's carrier and probes are in this batch
        batch_format="pyarrow",
    )


def _with_band_probes(table: pa.Table, max_hamming: int) -> pa.Table:
    table = as_string_column(with_drop_columns(table), PHASH)
    n = table.num_rows
    hashes, valid = parse_phashes(table[PHASH].to_pylist())
    rows = np.flatnonzero(live_rows(table) & valid)
    tokens = np.random.default_rng().integers(0, 2**62, size=n, dtype=np.int64)
    carriers = _with_columns(
        table,
        {
            _TOKEN: pa.array(tokens),
            _BAND: pa.nulls(n, pa.int64()),
            SALT: match_salt(np.zeros(n, dtype=bool)),
            _PROBE: pa.nulls(n, pa.int64()),
        },
    )
    if rows.size == 0:
        return carriers
    keys = band_keys(hashes[rows], max_hamming).ravel()  # row-major: one row's k+1 bands together
    copies = max_hamming + 1
    probes = _with_columns(
        table.take(pa.nulls(keys.size, pa.int64())),  # all-null rows with the table's schema
        {
            _TOKEN: pa.array(np.repeat(tokens[rows], copies)),
            _BAND: pa.array(keys),
            SALT: pa.array(np.zeros(keys.size, dtype=np.int64)),
            _PROBE: pa.array(np.repeat(hashes[rows].view(np.int64), copies)),
        },
    )
    return pa.concat_tables([carriers, probes])


def _reference_bands(table: pa.Table, max_hamming: int) -> pa.Table:
    hashes, _ = parse_phashes(table[PHASH].to_pylist())  # already validated by read_reference_hashes
    keys = band_keys(hashes, max_hamming).ravel()
    return pa.table(
        {
            _BAND: pa.array(keys),
            SALT: pa.array(np.zeros(keys.size, dtype=np.int64)),
            _REFERENCE: pa.array(np.repeat(hashes.view(np.int64), max_hamming + 1)),
        }
    )


def _keep_carriers_and_verified(table: pa.Table, max_hamming: int) -> pa.Table:
    """Carriers, plus the probes whose candidate is within distance k, with that distance."""
    carrier = table[_PROBE].is_null().to_numpy(zero_copy_only=False)
    reference = column_or_nulls(table, _REFERENCE, pa.int64())
    candidate = reference.is_valid().to_numpy(zero_copy_only=False)
    distance = hamming(_int64(table[_PROBE]), _int64(reference))
    keep = carrier | (candidate & (distance <= max_hamming))
    table = table.filter(pa.array(keep)).append_column(
        _DISTANCE, pa.array(distance[keep], mask=carrier[keep])
    )
    return drop_if_present(table, (_BAND, SALT, _REFERENCE))


def _mark_verified_carriers(table: pa.Table) -> pa.Table:
    if table.num_rows == 0:
        return drop_if_present(table, (_TOKEN, _PROBE, _DISTANCE))
    carrier = table[_PROBE].is_null().to_numpy(zero_copy_only=False)
    carriers = table.filter(pa.array(carrier))
    probes = table.filter(pa.array(~carrier))
    if probes.num_rows:
        # min distance per (token, hash): matching on both makes a token collision harmless
        best = probes.group_by([_TOKEN, _PROBE]).aggregate([(_DISTANCE, "min")])
        keys = zip(best[_TOKEN].to_pylist(), best[_PROBE].to_pylist())
        nearest = dict(zip(keys, best[f"{_DISTANCE}_min"].to_pylist()))
        tokens = carriers[_TOKEN].to_numpy()
        hashes = parse_phashes(carriers[PHASH].to_pylist())[0].view(np.int64)
        reasons = np.full(carriers.num_rows, None, dtype=object)
        for i in np.flatnonzero(pc.is_in(carriers[_TOKEN], value_set=best[_TOKEN]).to_numpy(zero_copy_only=False)):
            distance = nearest.get((int(tokens[i]), int(hashes[i])))
            if distance is not None:
                reasons[i] = "reference_duplicate" if distance == 0 else "reference_near_duplicate"
        marked = np.array([r is not None for r in reasons], dtype=bool)
        carriers = mark_rows(carriers, marked, STAGE, reasons)
    return narrow_types(drop_if_present(carriers, (_TOKEN, _PROBE, _DISTANCE)))


def _int64(column: pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(column, 0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def _with_columns(table: pa.Table, columns: dict[str, pa.Array]) -> pa.Table:
    for name, column in columns.items():
        table = table.append_column(name, column)
    return table
