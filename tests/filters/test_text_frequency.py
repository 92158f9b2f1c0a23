"""The global frequency rule: counts over the whole dataset (all blocks), live rows only."""

import numpy as np
import pytest

from operators.base import rows_to_batch
from operators.filters.frequency import mark_frequent_in_partition

ray = pytest.importorskip("ray")


def make_rows():
    """Spread round-robin over 4 blocks, like pairs from 4 WARC files."""
    rows = []

    def add(text, n, dropped=False):
        for _ in range(n):
            rows.append({"text": text, "drop_stage": "text" if dropped else None,
                         "drop_reason": "no_noun" if dropped else None})

    add("eleven times", 11)  # > 10: every copy dropped
    add("ten times", 10)  # == 10: kept
    add("ten live plus five dropped", 10)
    add("ten live plus five dropped", 5, dropped=True)  # dropped rows do not count
    add("only dropped", 12, dropped=True)  # untouched, reason stays no_noun
    for i in range(40):
        add(f"unique {i}", 1)
    order = np.random.default_rng(7).permutation(len(rows))
    rows = [rows[i] for i in order]
    for i, row in enumerate(rows):
        row["page_url"] = f"page-{i}"
    return rows


def summarise(rows):
    out = {}
    for r in rows:
        key = (r["text"], r["drop_stage"], r["drop_reason"])
        out[key] = out.get(key, 0) + 1
    return out


EXPECTED = {
    ("eleven times", "text", "text_too_frequent"): 11,
    ("ten times", None, None): 10,
    ("ten live plus five dropped", None, None): 10,
    ("ten live plus five dropped", "text", "no_noun"): 5,
    ("only dropped", "text", "no_noun"): 12,
    **{(f"unique {i}", None, None): 1 for i in range(40)},
}


def test_partition_rule_without_ray():
    batch = mark_frequent_in_partition(rows_to_batch(make_rows()), max_count=10)
    texts, stages, reasons = batch["text"], batch["drop_stage"], batch["drop_reason"]
    assert summarise([{"text": t, "drop_stage": s, "drop_reason": r} for t, s, r in zip(texts, stages, reasons)]) == EXPECTED


def test_partition_rule_adds_missing_drop_columns():
    batch = mark_frequent_in_partition({"text": np.array(["a b c"] * 3, dtype=object)}, max_count=2)
    assert list(batch["drop_reason"]) == ["text_too_frequent"] * 3
    assert list(batch["drop_stage"]) == ["text"] * 3


@pytest.mark.slow
def test_counts_across_blocks(ray_session):
    from operators.filters import mark_frequent_texts

    rows = make_rows()
    ds = ray.data.from_items(rows, override_num_blocks=4)
    assert ds.num_blocks() == 4
    out = mark_frequent_texts(ds, max_count=10, num_partitions=3).take_all()

    assert len(out) == len(rows)
    assert summarise(out) == EXPECTED
    assert set(out[0]) == {"text", "drop_stage", "drop_reason", "page_url"}
    # other columns travel with their row
    assert sorted(r["page_url"] for r in out) == sorted(r["page_url"] for r in rows)
    by_url = {r["page_url"]: r["text"] for r in rows}
    assert all(by_url[r["page_url"]] == r["text"] for r in out)


@pytest.mark.slow
def test_staged_rows_without_drop_columns(ray_session):
    """Phase 2 reads staged pairs that never had drop columns; the rule adds them."""
    from operators.filters import mark_frequent_texts

    rows = [{"text": "same alt text here", "url": f"u{i}"} for i in range(3)]
    rows += [{"text": f"other {i}", "url": f"v{i}"} for i in range(3)]
    out = mark_frequent_texts(ray.data.from_items(rows, override_num_blocks=2), max_count=2, num_partitions=2).take_all()
    assert summarise(out) == {
        ("same alt text here", "text", "text_too_frequent"): 3,
        **{(f"other {i}", None, None): 1 for i in range(3)},
    }
