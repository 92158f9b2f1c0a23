"""ClipScorer on tiny random-init open_clip models loaded through the registry."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F

from operators.scorers.clip import ClipScorer, load_clip, open_clip_name
from operators.scorers.heads import load_head
from tests.scorers.helpers import TEXTS, make_batch

pytestmark = pytest.mark.gpu

COLUMNS = ("clip_similarity_vitb32", "clip_similarity_vitl14", "aesthetic_score_laion_v2", "nsfw_score")


@pytest.fixture(scope="module")
def scorer(tiny_cfg):
    return ClipScorer(tiny_cfg)


def test_columns_dtypes_ranges_and_dead_rows(scorer, tiny_cfg, images):
    out = scorer(make_batch(tiny_cfg, images, dropped=(1,)))
    assert scorer.unavailable == {}
    assert "thumb_clip224" not in out                       # consumed
    for column in COLUMNS:
        values = out[column]
        assert values[1] is None                            # dropped row: null
        live = [values[i] for i in (0, 2, 3)]
        assert all(isinstance(v, np.float32) for v in live), column
    for column in COLUMNS[:2]:
        assert all(-1.0 <= out[column][i] <= 1.0 for i in (0, 2, 3))
    assert all(0.0 <= out["nsfw_score"][i] <= 1.0 for i in (0, 2, 3))


def test_similarity_equals_direct_open_clip(scorer, tiny_cfg, images):
    """Same numbers as open_clip's own preprocess + encode_image/encode_text + normalise + dot."""
    out = scorer(make_batch(tiny_cfg, images))
    for key, column in (("clip_b32", COLUMNS[0]), ("clip_l14", COLUMNS[1])):
        spec = getattr(tiny_cfg, key)
        model = load_clip(spec.architecture, spec.weights).eval()
        preprocess = open_clip.image_transform(224, is_train=False)
        tokenizer = open_clip.get_tokenizer(open_clip_name(spec.architecture))
        with torch.no_grad():
            image = F.normalize(model.encode_image(torch.stack([preprocess(i) for i in images])), dim=-1)
            text = F.normalize(model.encode_text(tokenizer(TEXTS)), dim=-1)
        expected = (image * text).sum(-1).numpy()
        assert np.allclose(out[column].astype(np.float32), expected, atol=1e-4), column
        assert len(set(np.round(expected, 4))) == len(expected)       # inputs really differ
        if key == "clip_l14":
            aesthetic = load_head("laion_aesthetic_v2", tiny_cfg.aesthetic.weights, image.shape[1])
            nsfw = load_head("laion_nsfw_l14", tiny_cfg.nsfw.weights, image.shape[1])
            with torch.no_grad():
                assert np.allclose(out[COLUMNS[2]].astype(np.float32), aesthetic(image).numpy(), atol=1e-4)
                assert np.allclose(out[COLUMNS[3]].astype(np.float32), nsfw(image).numpy(), atol=1e-5)


def test_one_l14_image_tower_pass_feeds_similarity_aesthetic_and_nsfw(scorer, tiny_cfg, images):
    l14 = next(c for c in scorer.clips if c.name == "clip_l14")
    calls = []
    hook = l14.model.visual.register_forward_hook(lambda *_: calls.append(1))
    try:
        out = scorer(make_batch(tiny_cfg, images))
    finally:
        hook.remove()
    assert len(calls) == 1
    assert all(out[c][0] is not None for c in COLUMNS[1:])


def test_texts_are_one_batch_through_the_text_tower(scorer, tiny_cfg, images):
    calls = []
    original = scorer.clips[0].model.encode_text
    scorer.clips[0].model.encode_text = lambda tokens, **kw: calls.append(tokens.shape) or original(tokens, **kw)
    try:
        scorer(make_batch(tiny_cfg, images))
    finally:
        del scorer.clips[0].model.encode_text
    assert calls == [torch.Size([4, 77])]


def test_row_without_text_keeps_image_scores(scorer, tiny_cfg, images):
    out = scorer(make_batch(tiny_cfg, images, texts=[TEXTS[0], None, TEXTS[2], TEXTS[3]]))
    assert out["clip_similarity_vitb32"][1] is None and out["clip_similarity_vitl14"][1] is None
    assert out["aesthetic_score_laion_v2"][1] is not None and out["clip_similarity_vitb32"][0] is not None


def test_unavailable_b32_gives_nulls_and_a_reason_while_l14_scores(tiny_cfg, tmp_path, images):
    missing = tmp_path / "nope" / "b32.pt"
    cfg = replace(tiny_cfg, clip_b32=replace(tiny_cfg.clip_b32, weights=str(missing)))
    scorer = ClipScorer(cfg)
    assert list(scorer.unavailable) == ["clip_b32"] and str(missing) in scorer.unavailable["clip_b32"]
    out = scorer(make_batch(cfg, images))
    assert all(v is None for v in out["clip_similarity_vitb32"])
    assert all(isinstance(v, np.float32) for v in out["clip_similarity_vitl14"])


def test_heads_unavailable_without_l14(tiny_cfg, images):
    cfg = replace(tiny_cfg, clip_l14=replace(tiny_cfg.clip_l14, weights="/does/not/exist.pt"))
    scorer = ClipScorer(cfg)
    assert sorted(scorer.unavailable) == ["aesthetic", "clip_l14", "nsfw"]
    assert "clip_l14" in scorer.unavailable["aesthetic"]
    out = scorer(make_batch(cfg, images))
    assert all(v is None for c in COLUMNS[1:] for v in out[c])
    assert all(v is not None for v in out["clip_similarity_vitb32"])


def test_corrupt_weights_are_unavailable_or_fatal_with_require_scores(tiny_cfg, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    cfg = replace(tiny_cfg, clip_b32=replace(tiny_cfg.clip_b32, weights=str(bad)))
    assert "could not load" in ClipScorer(cfg).unavailable["clip_b32"]
    with pytest.raises(Exception):
        ClipScorer(replace(cfg, require_scores=True))


def test_resources_come_from_the_pool_config(tiny_cfg):
    res = ClipScorer.pool_resources(replace(tiny_cfg, use_gpu=True))
    assert (res.num_gpus, res.batch_size, res.pool) == (0.5, 64, (1, 1))
    assert ClipScorer.pool_resources(tiny_cfg).num_gpus == 0.0
