"""The Arrow-table drop-marking helpers the Dataset-level steps share (pure pyarrow, no Ray)."""

import numpy as np
import pyarrow as pa

from operators.dedup.tables import (
    as_string_column,
    first_per_key,
    live_rows,
    mark_rows,
    match_salt,
    narrow_types,
    with_drop_columns,
)


def _table():
    return pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "width": pa.array([640, None, 300], pa.int32()),
            "image_bytes": pa.array([b"a", b"b", b"c"], pa.binary()),
            "thumb_224": pa.array([b"t1", b"t2", None], pa.binary()),
            "drop_stage": pa.nulls(3),
            "drop_reason": pa.nulls(3),
        }
    )


def test_mark_rows_sets_reason_and_clears_heavy_columns_of_marked_rows_only():
    out = mark_rows(_table(), np.array([False, True, False]), "dedup", "pair_duplicate")
    assert out["drop_stage"].to_pylist() == [None, "dedup", None]
    assert out["drop_reason"].to_pylist() == [None, "pair_duplicate", None]
    assert out["image_bytes"].to_pylist() == [b"a", None, b"c"]
    assert out["thumb_224"].to_pylist() == [b"t1", None, None]
    assert out["width"].to_pylist() == [640, None, 300] and out["width"].type == pa.int32()
    assert out.column_names == _table().column_names
    assert out["drop_reason"].type == pa.string()


def test_mark_rows_with_one_reason_per_row_keeps_earlier_drops():
    table = mark_rows(_table(), np.array([True, False, False]), "text", "too_short")
    reasons = np.array([None, "reference_duplicate", "reference_near_duplicate"], dtype=object)
    out = mark_rows(table, np.array([False, True, True]), "dedup", reasons)
    assert out["drop_stage"].to_pylist() == ["text", "dedup", "dedup"]
    assert out["drop_reason"].to_pylist() == ["too_short", "reference_duplicate", "reference_near_duplicate"]
    assert live_rows(out).tolist() == [False, False, False]


def test_live_rows_and_missing_drop_columns():
    table = pa.table({"id": [1, 2, 3], "drop_reason": pa.array([None, "", "x"], pa.string())})
    assert live_rows(table).tolist() == [True, True, False]
    bare = pa.table({"id": [1, 2]})
    assert live_rows(bare).tolist() == [True, True]
    assert with_drop_columns(bare).column_names == ["id", "drop_stage", "drop_reason"]


def test_first_per_key_takes_smallest_order_with_nulls_last():
    table = pa.table(
        {
            "k": ["a", "b", "a", "a", "b", "c"],
            "id": pa.array([5, None, 3, 3, 9, 1], pa.int64()),
            "page": ["z", "q", "y", "x", "p", "o"],
        }
    )
    first = first_per_key(table, ["k"], ["id", "page"])
    # a: ids 5, 3(y), 3(x) -> row 3; b: null id loses to 9 -> row 4; c: row 5
    assert np.flatnonzero(first).tolist() == [3, 4, 5]
    assert first_per_key(table.slice(0, 0), ["k"], ["id"]).tolist() == []


def test_narrow_types_and_match_salt():
    wide = pa.table({"s": pa.array(["x"], pa.large_string()), "b": pa.array([b"y"], pa.large_binary()), "n": [1]})
    assert narrow_types(wide).schema == pa.schema([("s", pa.string()), ("b", pa.binary()), ("n", pa.int64())])
    salt = match_salt(np.array([True, False, True, False])).to_numpy()
    assert salt[0] == 0 and salt[2] == 0 and (salt[[1, 3]] > 0).all()


def test_drop_columns_that_arrive_as_nan_floats_mean_nothing_dropped():
    # a drop column null in every row of a block reaches numpy batches as NaN, and goes back as double
    table = pa.table({"id": [1, 2], "drop_stage": pa.array([float("nan")] * 2), "drop_reason": [float("nan")] * 2})
    assert live_rows(table).tolist() == [True, True]
    fixed = with_drop_columns(table)
    assert fixed.schema.field("drop_reason").type == pa.string()
    assert fixed["drop_reason"].to_pylist() == [None, None]
    marked = mark_rows(table, np.array([False, True]), "dedup", "pair_duplicate")
    assert marked["drop_reason"].to_pylist() == [None, "pair_duplicate"]


def test_key_columns_that_arrive_as_nan_floats_become_null_strings_not_nan_text():
    table = pa.table({"image_phash": pa.array([float("nan")] * 2), "text": pa.array(["a", None], pa.large_string())})
    assert as_string_column(table, "image_phash")["image_phash"].to_pylist() == [None, None]
    assert as_string_column(table, "text").schema.field("text").type == pa.string()
