"""The sample job with every scorer loaded (tiny random-init weights through the real registry)
on CPU actor pools: every model column filled for every kept row, within its range."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jobs.config import load_config
from jobs.pipeline import run
from jobs.sample import generate_sample
from operators.scorers.random_init import write_random_weights
from tests.e2e.helpers import assert_reconciles, read_output

pytestmark = [pytest.mark.slow, pytest.mark.gpu]


def test_sample_job_scores_every_kept_pair_on_cpu(ray_session, tmp_path):
    sample = generate_sample(tmp_path / "sample", pages=40, seed=2, files=1)
    base = load_config()
    score = write_random_weights(tmp_path / "weights", arch="tiny", base=base.score)
    score = dataclasses.replace(score, face_size=96, require_scores=True)  # require: all must load
    cfg = dataclasses.replace(base, score=score)

    result = run([str(sample.manifest_path)], str(tmp_path / "out"), cfg)
    stats = result.stats
    assert_reconciles(stats)
    assert stats["scorers_unavailable"] == {}
    table = read_output(tmp_path / "out")
    assert table.num_rows == stats["pairs"]["kept"] > 0

    def column(name):
        values = table.column(name)
        assert values.null_count == 0, name
        return np.asarray(values.to_pylist())

    for name in ("clip_similarity_vitb32", "clip_similarity_vitl14"):
        assert np.all(np.abs(column(name)) <= 1.0 + 1e-5)
    assert np.all(np.isfinite(column("aesthetic_score_laion_v2")))
    for name in ("nsfw_score", "watermark_score"):
        assert np.all((column(name) >= 0) & (column(name) <= 1))
    assert np.all(column("num_faces") >= 0)
    texts = table.column("text").to_pylist()
    assert column("text_length").tolist() == [len(t) for t in texts]
    assert column("word_count").tolist() == [len(t.split()) for t in texts]
    assert np.all(column("num_tokens_bert") > 0) and np.all(column("num_tokens_gpt") > 0)
    # thumbnails are working columns: never written
    assert not [c for c in table.column_names if c.startswith("thumb_")]
