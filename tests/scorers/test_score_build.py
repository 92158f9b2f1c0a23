"""The score stage as the pipeline maps it: order, resources, null stand-ins, and one run of every
scorer through Ray Data actor pools (the real adapter) with tiny random-init weights."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from operators.base import batch_to_rows
from operators.scorers import NullScores, build_scorer_specs, build_scorers, score_columns
from tests.scorers.helpers import make_batch

pytestmark = pytest.mark.gpu


def test_specs_in_pipeline_order_with_config_resources(tiny_cfg):
    cfg = replace(tiny_cfg, use_gpu=True)
    specs = build_scorer_specs(cfg)
    assert [s.name for s in specs] == ["tokens", "clip", "watermark", "faces"]
    assert specs[0].resources.pool is None and specs[0].resources.num_gpus == 0
    assert [s.resources.num_gpus for s in specs[1:]] == [0.5, 0.25, 0.25]      # share one GPU
    assert [s.resources.batch_size for s in specs[1:]] == [64, 64, 32]
    assert all(s.resources.pool == (1, 1) for s in specs[1:])
    assert all(s.resources.num_gpus == 0 for s in build_scorer_specs(tiny_cfg))  # use_gpu false
    assert build_scorer_specs(replace(tiny_cfg, enabled=False)) == []


def test_pool_without_any_weights_becomes_a_null_task(tiny_cfg, images):
    cfg = replace(tiny_cfg, faces=replace(tiny_cfg.faces, weights="/missing/faces.pt"))
    specs = {s.name: s for s in build_scorer_specs(cfg)}
    assert specs["faces"].cls is NullScores and specs["faces"].resources.pool is None
    null = specs["faces"].cls(**specs["faces"].kwargs)
    out = null(make_batch(cfg, images))
    assert list(out["num_faces"]) == [None] * 4 and "thumb_face" not in out


def test_all_scorers_fill_every_column(tiny_cfg, images):
    batch = make_batch(tiny_cfg, images, dropped=(3,))
    for op in build_scorers(tiny_cfg):
        batch = op(batch)
    rows = batch_to_rows(batch)
    assert not [c for c in batch if c.startswith("thumb_")]
    for column in score_columns(tiny_cfg):
        assert all(r[column] is not None for r in rows[:3]), column
        assert rows[3][column] is None


@pytest.mark.slow
def test_scorers_on_ray_actor_pools(tiny_cfg, images):
    """Token tasks + the CLIP pool through the pipeline's adapter (the other pools use the same
    path; one pool keeps this test to one actor start on 2 cores)."""
    ray = pytest.importorskip("ray")
    from jobs.adapter import apply_operator, apply_pool

    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        cfg = replace(tiny_cfg, clip_pool=replace(tiny_cfg.clip_pool, batch_size=3),
                      watermark=replace(tiny_cfg.watermark, enabled=False),
                      faces=replace(tiny_cfg.faces, enabled=False))
        rows = batch_to_rows(make_batch(cfg, images * 2, texts=["a cat", "a dog", "a tree", "a car"] * 2,
                                        dropped=(5,)))
        ds = ray.data.from_items(rows)
        for spec in build_scorer_specs(cfg):
            ds = apply_pool(ds, spec.cls, spec.resources, spec.kwargs) if spec.resources.pool \
                else apply_operator(ds, spec.cls(**spec.kwargs))
        out = sorted(ds.take_all(), key=lambda r: r["text"] + str(r["drop_reason"]))
    finally:
        ray.shutdown()
    local = make_batch(cfg, images * 2, texts=["a cat", "a dog", "a tree", "a car"] * 2, dropped=(5,))
    for op in build_scorers(cfg):
        local = op(local)
    expected = sorted(batch_to_rows(local), key=lambda r: r["text"] + str(r["drop_reason"]))
    assert len(out) == 8
    for got, want in zip(out, expected):
        for column in score_columns(cfg):
            if want[column] is None:     # between Ray stages a null travels as NaN (Arrow → numpy)
                assert got[column] is None or np.isnan(got[column]), column
            else:
                assert np.isclose(got[column], want[column], atol=1e-4), column
