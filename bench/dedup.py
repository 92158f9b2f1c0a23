"""Dedup-stage speed and correctness at a size the unit tests cannot reach, side by side in one
process on the same input; both sides of each pair must mark exactly the same rows.

near:  `mark_reference_duplicates(max_hamming=k)` (k+1 band keys, one Ray hash-join, verify,
       one repartition) against brute force on the driver (every row's popcount against every
       reference hash, numpy). Input: --refs random reference hashes, --n rows of which --planted
       are copies of a reference hash with 0..k bits flipped; 10 % of rows are already dropped
       (some of them planted too: they must stay untouched).
pairs: `mark_pair_duplicates` (one keyed repartition) against the textbook Ray plan: groupby
       (image_phash, text) min(id) over the live rows, then a join back to mark the others.
       The textbook plan reads its input twice; here the input is in memory, so the ratio
       leaves out what that costs in the real job (everything upstream computed twice).

Times are wall seconds after one warm-up run of each plan (Ray starts its shuffle workers on
first use). Prints one JSON object on stdout.

    .venv/bin/python bench/dedup.py --n 10000 --refs 10000
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import ray  # noqa: E402
import ray.data  # noqa: E402

from operators.dedup import DedupConfig, mark_pair_duplicates, mark_reference_duplicates  # noqa: E402
from operators.dedup.near import hamming  # noqa: E402
from operators.dedup.tables import column_or_nulls  # noqa: E402


def hex16(hashes: np.ndarray) -> list[str]:
    return [f"{int(h):016x}" for h in hashes]


def near_input(n: int, refs: int, planted: int, k: int, rng: np.random.Generator):
    reference = rng.integers(0, 2**64, size=refs, dtype=np.uint64)
    hashes = rng.integers(0, 2**64, size=n, dtype=np.uint64)
    rows = rng.choice(n, size=planted, replace=False)
    for row in rows:
        h = int(reference[rng.integers(refs)])
        for bit in rng.choice(64, size=int(rng.integers(0, k + 1)), replace=False):
            h ^= 1 << int(bit)
        hashes[row] = h
    dropped = rng.random(n) < 0.10
    table = pa.table(
        {
            "id": pa.array(np.arange(n), pa.int64()),
            "image_phash": pa.array(hex16(hashes), pa.string()),
            "image_bytes": pa.array([b"x" * 64] * n, pa.binary()),
            "drop_stage": pa.array(np.where(dropped, "text", None), pa.string()),
            "drop_reason": pa.array(np.where(dropped, "too_short", None), pa.string()),
        }
    )
    return table, reference, hashes, dropped


def brute_force_near(hashes: np.ndarray, dropped: np.ndarray, reference: np.ndarray, k: int) -> dict[int, str]:
    marked = {}
    for start in range(0, len(hashes), 256):
        chunk = hashes[start : start + 256]
        distances = hamming(np.repeat(chunk, len(reference)), np.tile(reference, len(chunk))).reshape(len(chunk), -1)
        best = distances.min(axis=1)
        for offset in np.flatnonzero(best <= k):
            i = start + int(offset)
            if not dropped[i]:
                marked[i] = "reference_duplicate" if best[offset] == 0 else "reference_near_duplicate"
    return marked


def ray_marked(ds: ray.data.Dataset) -> dict[int, str]:
    table = pa.concat_tables(ray.get(ds.to_arrow_refs()))
    return {r["id"]: r["drop_reason"] for r in table.select(["id", "drop_stage", "drop_reason"]).to_pylist()
            if r["drop_stage"] == "dedup"}


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def bench_near(args, rng) -> dict:
    table, reference, hashes, dropped = near_input(args.n, args.refs, args.planted, args.k, rng)
    with tempfile.TemporaryDirectory() as tmp:
        pq.write_table(pa.table({"image_phash": hex16(reference)}), f"{tmp}/ref.parquet")
        cfg = DedupConfig(reference_tables=(tmp,), max_hamming=args.k, num_partitions=args.partitions)
        blocks = [table.slice(i, args.block) for i in range(0, table.num_rows, args.block)]

        def ours():
            return ray_marked(mark_reference_duplicates(ray.data.from_arrow(blocks), cfg))

        ours()  # warm-up
        got, ours_s = timed(ours)
        want, base_s = timed(lambda: brute_force_near(hashes, dropped, reference, args.k))
    return {
        "rows": args.n, "reference_hashes": args.refs, "max_hamming": args.k, "planted": args.planted,
        "marked": len(want), "same_result": got == want,
        "near_marked": sum(r == "reference_near_duplicate" for r in want.values()),
        "seconds_ray_banded": round(ours_s, 2), "seconds_brute_force": round(base_s, 2),
        "ratio_vs_brute_force": round(base_s / ours_s, 2),
    }


def textbook_pairs(ds: ray.data.Dataset, num_partitions: int) -> ray.data.Dataset:
    def live_only(table: pa.Table) -> pa.Table:
        return table.filter(table["drop_reason"].is_null())

    smallest = (
        ds.map_batches(live_only, batch_format="pyarrow")
        .groupby(["image_phash", "text"], num_partitions=num_partitions)
        .min("id")
    )

    def mark(table: pa.Table) -> pa.Table:
        live = pc.is_null(table["drop_reason"])
        smallest_id = column_or_nulls(table, "min(id)", pa.int64())  # absent where a partition got no groups
        duplicate = pc.fill_null(pc.and_(live, pc.not_equal(table["id"], smallest_id)), False)
        stage = pc.if_else(duplicate, "dedup", table["drop_stage"])
        reason = pc.if_else(duplicate, "pair_duplicate", table["drop_reason"])
        return table.set_column(table.column_names.index("drop_stage"), "drop_stage", stage).set_column(
            table.column_names.index("drop_reason"), "drop_reason", reason
        ).drop_columns([c for c in table.column_names if c == "min(id)"])

    joined = ds.join(smallest, "left_outer", num_partitions, on=("image_phash", "text"))
    return joined.map_batches(mark, batch_format="pyarrow")


def bench_pairs(args, rng) -> dict:
    n = args.pairs_n
    # rows drawn from n/2 distinct (image, text) pairs: about 40 % of the rows repeat a pair
    pool = max(1, n // 2)
    images = np.array(hex16(rng.integers(0, 2**64, size=pool, dtype=np.uint64)), dtype=object)
    texts = np.array([f"alt text {i}" for i in range(pool)], dtype=object)
    picks = rng.integers(pool, size=n)
    dropped = rng.random(n) < 0.10
    table = pa.table(
        {
            "id": pa.array(rng.permutation(n).astype(np.int64)),
            "image_phash": pa.array(images[picks], pa.string()),
            "text": pa.array(texts[picks], pa.string()),
            "image_bytes": pa.array([b"x" * 64] * n, pa.binary()),
            "drop_stage": pa.array(np.where(dropped, "text", None), pa.string()),
            "drop_reason": pa.array(np.where(dropped, "too_short", None), pa.string()),
        }
    )
    blocks = [table.slice(i, args.block) for i in range(0, n, args.block)]
    cfg = DedupConfig(num_partitions=args.partitions)

    def ours():
        return ray_marked(mark_pair_duplicates(ray.data.from_arrow(blocks), cfg))

    def textbook():
        return ray_marked(textbook_pairs(ray.data.from_arrow(blocks), args.partitions))

    ours()
    textbook()
    got, ours_s = timed(ours)
    want, base_s = timed(textbook)
    return {
        "rows": n, "marked": len(want), "same_result": got == want,
        "seconds_ours": round(ours_s, 2), "seconds_groupby_join": round(base_s, 2),
        "ratio_vs_groupby_join": round(base_s / ours_s, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="rows for the near-duplicate run")
    parser.add_argument("--refs", type=int, default=10_000, help="reference hashes")
    parser.add_argument("--planted", type=int, default=500)
    parser.add_argument("--k", type=int, default=4, help="max_hamming")
    parser.add_argument("--pairs-n", type=int, default=50_000, help="rows for the pair-dedup run")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--block", type=int, default=5_000, help="rows per input block")
    parser.add_argument("--num-cpus", type=int, default=None)
    args = parser.parse_args()

    logging.getLogger("ray").setLevel(logging.WARNING)
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    rng = np.random.default_rng(0)
    result = {"near": bench_near(args, rng), "pairs": bench_pairs(args, rng)}
    ray.shutdown()
    print(json.dumps(result))
    return 0 if result["near"]["same_result"] and result["pairs"]["same_result"] else 1


if __name__ == "__main__":
    sys.exit(main())
