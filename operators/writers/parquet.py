"""The final writer: kept rows to Hive-partitioned Parquet, dropped rows counted per reason.

It is a Ray Data Datasink so that writing and counting happen in the same streaming pass:
each write task returns its counts and the driver merges them in `on_write_complete`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ray.data import Datasink
from ray.data.datasource.datasink import WriteResult

from operators.base import DROP_REASON, DROP_STAGE
from operators.writers import storage

# COYO-700M's columns (same names and meaning) plus provenance, in output order.
OUTPUT_SCHEMA: dict[str, pa.DataType] = {
    "id": pa.int64(),
    "url": pa.string(),
    "text": pa.string(),
    "width": pa.int32(),
    "height": pa.int32(),
    "image_phash": pa.string(),
    "text_length": pa.int32(),
    "word_count": pa.int32(),
    "num_tokens_bert": pa.int32(),
    "num_tokens_gpt": pa.int32(),
    "num_faces": pa.int32(),
    "clip_similarity_vitb32": pa.float32(),
    "clip_similarity_vitl14": pa.float32(),
    "aesthetic_score_laion_v2": pa.float32(),
    "nsfw_score": pa.float32(),
    "watermark_score": pa.float32(),
    "page_url": pa.string(),
    "warc_path": pa.string(),
    "warc_offset": pa.int64(),
    "crawl": pa.string(),
    "fetch_status": pa.string(),
    "http_status": pa.int32(),
    "image_warc_path": pa.string(),
    "image_warc_offset": pa.int64(),
    "image_bytes": pa.binary(),
}

# Working columns that never reach the output.
INTERNAL_PREFIXES = ("thumb_", "_")
INTERNAL_COLUMNS = {DROP_STAGE, DROP_REASON, "url_key", "content_type"}


def output_table(table: pa.Table, store_images: bool) -> pa.Table:
    """Select and type the output columns of kept rows (schema order, then any extras)."""
    names = [n for n in table.column_names if n not in INTERNAL_COLUMNS and not n.startswith(INTERNAL_PREFIXES)]
    if not store_images and "image_bytes" in names:
        names.remove("image_bytes")
    ordered = [n for n in OUTPUT_SCHEMA if n in names] + sorted(n for n in names if n not in OUTPUT_SCHEMA)
    columns = []
    for name in ordered:
        column = table.column(name)
        wanted = OUTPUT_SCHEMA.get(name)
        if wanted is not None:
            column = cast_column(column, wanted)
        columns.append(column)
    return pa.table(columns, names=ordered)


def cast_column(column: pa.ChunkedArray, wanted: pa.DataType) -> pa.ChunkedArray:
    """Cast to the schema type. NaN is how numpy batches carry a null number: it becomes null,
    so a score no model produced reads as NULL in DuckDB, never as NaN."""
    if pa.types.is_floating(column.type) and (pa.types.is_integer(wanted) or pa.types.is_floating(wanted)):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    return column if column.type == wanted else column.cast(wanted)


def count_and_keep(table: pa.Table) -> tuple[pa.Table, dict[str, dict[str, int]]]:
    """Split a block into kept rows and {stage: {reason: n}} of the dropped ones."""
    if DROP_REASON not in table.column_names:
        return table, {}
    reasons = table.column(DROP_REASON)
    if reasons.null_count == len(reasons) or not pa.types.is_string(reasons.type):
        return table, {}  # all null (possibly carried as NaN floats): nothing dropped
    dropped_mask = pc.fill_null(pc.not_equal(reasons, ""), False)
    dropped = table.filter(dropped_mask)
    counts: dict[str, Counter] = {}
    stages = dropped.column(DROP_STAGE).to_pylist() if DROP_STAGE in dropped.column_names else ["?"] * len(dropped)
    for stage, reason in zip(stages, dropped.column(DROP_REASON).to_pylist()):
        counts.setdefault(stage or "?", Counter())[reason] += 1
    kept = table.filter(pc.invert(dropped_mask))
    return kept, {stage: dict(c) for stage, c in counts.items()}


class CountingParquetSink(Datasink):
    """Writes kept rows as Parquet partitioned by `partition_cols`; returns drop counts."""

    def __init__(
        self,
        output: str,
        storage_options: dict[str, Any] | None = None,
        partition_cols: tuple[str, ...] = ("crawl",),
        min_rows_per_file: int = 100_000,
        max_rows_per_file: int = 1_000_000,
        store_images: bool = False,
        compression: str = "zstd",
    ) -> None:
        self.output = output
        self.storage_options = storage_options or {}
        self.partition_cols = tuple(partition_cols)
        self.min_rows_per_file = min_rows_per_file
        self.max_rows_per_file = max_rows_per_file
        self.store_images = store_images
        self.compression = compression
        self.result: dict[str, Any] | None = None

    @property
    def min_rows_per_write(self) -> int | None:
        return self.min_rows_per_file

    def write(self, blocks: Iterable[Any], ctx: Any) -> dict[str, Any]:
        fs, root = storage.resolve(self.output, self.storage_options)
        afs = storage.arrow_filesystem(fs)
        kept_tables, dropped = [], {}
        for block in blocks:
            table = block if isinstance(block, pa.Table) else pa.Table.from_pandas(block, preserve_index=False)
            kept, counts = count_and_keep(table)
            for stage, reasons in counts.items():
                bucket = dropped.setdefault(stage, Counter())
                bucket.update(reasons)
            if len(kept):
                kept_tables.append(output_table(kept, self.store_images))
        n_kept = 0
        files: list[str] = []
        if kept_tables:
            table = pa.concat_tables(kept_tables, promote_options="default")
            n_kept = len(table)
            token = uuid.uuid4().hex[:12]
            pq.write_to_dataset(
                table,
                root_path=root,
                partition_cols=[c for c in self.partition_cols if c in table.column_names] or None,
                filesystem=afs,
                basename_template=f"part-{token}-{{i}}.parquet",
                max_rows_per_file=self.max_rows_per_file,
                row_group_size=min(self.max_rows_per_file, 128 * 1024),
                existing_data_behavior="overwrite_or_ignore",
                compression=self.compression,
                file_visitor=lambda written: files.append(written.path),
            )
        return {"kept": n_kept, "dropped": {s: dict(c) for s, c in dropped.items()}, "files": files}

    def on_write_complete(self, write_result: WriteResult) -> None:
        kept = 0
        dropped: dict[str, Counter] = {}
        files: list[str] = []
        for ret in write_result.write_returns:
            if not ret:
                continue
            kept += ret["kept"]
            files.extend(ret["files"])
            for stage, reasons in ret["dropped"].items():
                dropped.setdefault(stage, Counter()).update(reasons)
        self.result = {"kept": kept, "dropped": {s: dict(c) for s, c in dropped.items()}, "files": sorted(files)}
