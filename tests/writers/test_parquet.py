"""The counting sink: kept rows written, partitioned and typed; drops counted, never written."""

import math

import pyarrow as pa
import pyarrow.parquet as pq
import ray
import ray.data

from operators.writers.parquet import CountingParquetSink, cast_column, count_and_keep, output_table


def _rows(n=60):
    rows = []
    for i in range(n):
        dropped = i % 3 == 0
        rows.append({
            "id": i, "url": f"https://x/{i}.jpg", "text": f"text {i}", "crawl": "CC-MAIN-2024-10" if i % 2 else "unknown",
            "drop_stage": "text" if dropped else None,
            "drop_reason": ("too_few_words" if i % 2 else "nsfw_text") if dropped else None,
            "thumb_clip224": b"\0" * 12, "url_key": "k", "width": None if i % 5 == 1 else 300 + i,
        })
    return rows


def test_count_and_keep_splits_by_reason():
    table = pa.Table.from_pylist(_rows())
    kept, counts = count_and_keep(table)
    assert len(kept) == 40
    assert counts == {"text": {"too_few_words": 10, "nsfw_text": 10}}
    assert kept.column("drop_reason").null_count == 40


def test_output_table_drops_working_columns_and_types_schema():
    table = output_table(pa.Table.from_pylist(_rows()), store_images=False)
    assert table.column_names[:3] == ["id", "url", "text"]
    assert "thumb_clip224" not in table.column_names and "url_key" not in table.column_names
    assert "drop_reason" not in table.column_names
    assert table.schema.field("width").type == pa.int32()


def test_nan_from_numpy_batches_becomes_null():
    column = pa.chunked_array([pa.array([1.0, math.nan, 3.0])])
    assert cast_column(column, pa.int32()).to_pylist() == [1, None, 3]
    assert cast_column(column, pa.float32()).to_pylist() == [1.0, None, 3.0]
    assert cast_column(pa.chunked_array([pa.array([0.5, math.nan], pa.float32())]), pa.float32()).null_count == 1


def test_sink_writes_hive_partitions_and_reconciles(ray_session, tmp_path):
    rows = _rows(90)
    ds = ray.data.from_items(rows, override_num_blocks=3).map_batches(
        lambda b: b, batch_format="numpy", zero_copy_batch=False)
    sink = CountingParquetSink(str(tmp_path), min_rows_per_file=10)
    ds.write_datasink(sink)
    assert sink.result["kept"] == 60
    assert sink.result["dropped"] == {"text": {"too_few_words": 15, "nsfw_text": 15}}
    parts = sorted(p.name for p in tmp_path.iterdir())
    assert parts == ["crawl=CC-MAIN-2024-10", "crawl=unknown"]
    table = pq.read_table(tmp_path)
    assert table.num_rows == 60
    assert sorted(table.column("id").to_pylist()) == [i for i in range(90) if i % 3]
    # nulls survive the numpy round trip as nulls, not NaN/0
    assert table.column("width").null_count == sum(1 for i in range(90) if i % 3 and i % 5 == 1)
