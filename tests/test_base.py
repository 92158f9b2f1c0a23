"""Shared operator contracts: drop marking survives the shapes Ray hands to operators."""

import math

import numpy as np
import pyarrow as pa

from operators.base import (Filter, FunnelCounts, ensure_drop_columns, live_mask, object_array,
                            rows_to_batch)
from operators.writers.parquet import count_and_keep


def test_all_null_drop_column_as_nan_floats_means_live():
    # Ray turns a column that is null in every row of a block into float NaN
    batch = {"text": object_array(["a", "b"]), "drop_reason": np.array([math.nan, math.nan], dtype=np.float32),
             "drop_stage": np.array([math.nan, math.nan])}
    assert live_mask(batch).tolist() == [True, True]
    batch = ensure_drop_columns(batch)
    assert batch["drop_reason"].dtype == object and batch["drop_reason"].tolist() == [None, None]


def test_live_mask_reads_reasons():
    batch = {"drop_reason": object_array([None, "nsfw_text", "", math.nan])}
    assert live_mask(batch).tolist() == [True, False, True, True]


def test_sink_counting_ignores_nan_drop_column():
    table = pa.table({"id": [1, 2], "drop_reason": pa.array([math.nan, math.nan])})
    kept, counts = count_and_keep(table)
    assert len(kept) == 2 and counts == {}


class _ShortFilter(Filter):
    stage = "text"
    reads = ("text",)

    def keep(self, row):
        return "too_short" if len(row["text"]) < 3 else None


def test_filter_marks_counts_and_skips_dead_rows():
    f = _ShortFilter()
    out = f(rows_to_batch([{"text": "ab"}, {"text": "abcd"}, {"text": "x", "drop_stage": "extract",
                                                              "drop_reason": "earlier"}]))
    assert out["drop_reason"].tolist() == ["too_short", None, "earlier"]
    assert f.counts.to_dict() == {"text": {"in": 2, "kept": 1, "dropped": {"too_short": 1}}}


def test_funnel_counts_roundtrip_and_merge():
    a = FunnelCounts()
    a.add_in("extract", 5)
    a.add_drop("extract", "not_html", 2)
    b = FunnelCounts.from_dict(a.to_dict())
    b.merge(a)
    assert b.to_dict() == {"extract": {"in": 10, "kept": 6, "dropped": {"not_html": 4}}}
