"""WatermarkScorer: LAION's preprocessing and head on a tiny timm EfficientNet via the registry."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torchvision import transforms as T

from operators.scorers.runtime import IMAGENET_MEAN, IMAGENET_STD
from operators.scorers.watermark import WatermarkScorer, build_watermark_model, load_watermark_model
from tests.scorers.helpers import make_batch

pytestmark = pytest.mark.gpu


def test_head_is_laions_and_state_dict_keys_match():
    model = build_watermark_model("test_efficientnet")
    head = [tuple(m.weight.shape) for m in model.classifier if isinstance(m, torch.nn.Linear)]
    assert head == [(625, model.num_features), (256, 625), (2, 256)]
    assert {"classifier.0.weight", "classifier.3.weight", "classifier.5.weight"} <= set(model.state_dict())


def test_probability_of_class_zero_equals_laion_pipeline(tiny_cfg, images):
    scorer = WatermarkScorer(tiny_cfg)
    out = scorer(make_batch(tiny_cfg, images, dropped=(2,)))
    assert "thumb_wm256" not in out and out["watermark_score"][2] is None
    live = [0, 1, 3]
    values = np.array([out["watermark_score"][i] for i in live])
    assert values.dtype == np.float32 and ((values >= 0) & (values <= 1)).all()

    model = load_watermark_model(tiny_cfg.watermark.architecture, tiny_cfg.watermark.weights).eval()
    laion = T.Compose([T.Resize((256, 256)), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    with torch.no_grad():
        logits = model(torch.stack([laion(images[i].convert("RGB")) for i in live]))
    assert np.allclose(values, torch.softmax(logits, dim=1)[:, 0].numpy(), atol=1e-5)


def test_missing_weights_give_null_column_and_reason(tiny_cfg, images):
    cfg = replace(tiny_cfg, watermark=replace(tiny_cfg.watermark, weights="https://example.invalid/wm.pt"))
    scorer = WatermarkScorer(cfg)
    reason = scorer.unavailable["watermark"]
    assert "not in cache" in reason and "ccpairs models fetch" in reason
    out = scorer(make_batch(cfg, images))
    assert list(out["watermark_score"]) == [None] * 4 and "thumb_wm256" not in out
