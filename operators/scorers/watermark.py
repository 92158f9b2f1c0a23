"""Watermark probability with LAION's LAION-5B watermark detector: timm EfficientNet-B3 with the
1536→625→256→2 head, 256×256 input, ImageNet normalisation, softmax class 0 = watermark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from operators.base import Batch
from operators.scorers.config import ScoreConfig
from operators.scorers.prepare import WatermarkThumbnailer, decode_thumbs, thumb_column
from operators.scorers.registry import COLUMNS
from operators.scorers.runtime import (IMAGENET_MEAN, IMAGENET_STD, ModelScorer, inference, null_columns, put,
                                       to_device_images)


def build_watermark_model(architecture: str) -> nn.Module:
    """The timm backbone (random init, never downloads) with LAION's classifier head."""
    import timm

    model = timm.create_model(architecture, pretrained=False, num_classes=2)
    if not hasattr(model, "classifier"):
        raise ValueError(f"{architecture} has no `classifier` to replace; use an EfficientNet-family timm model")
    model.classifier = nn.Sequential(
        nn.Linear(model.num_features, 625),
        nn.ReLU(),
        nn.Dropout(p=0.3),
        nn.Linear(625, 256),
        nn.ReLU(),
        nn.Linear(256, 2),
    )
    return model


def load_watermark_model(architecture: str, weights_file: Path) -> nn.Module:
    model = build_watermark_model(architecture)
    state = torch.load(str(weights_file), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model


class WatermarkScorer(ModelScorer):
    reads = (thumb_column(WatermarkThumbnailer.name),)
    writes = COLUMNS["watermark"]
    pool_field = "watermark_pool"
    channels_last = True

    def __init__(self, cfg: ScoreConfig) -> None:
        super().__init__(cfg)
        self.model = self.load("watermark", lambda path: load_watermark_model(cfg.watermark.architecture, path))

    def process(self, batch: Batch, live: np.ndarray) -> Batch:
        null_columns(batch, self.writes)
        thumbs = batch.pop(self.reads[0], None)
        if thumbs is None or self.model is None:
            return batch
        images, rows = decode_thumbs(thumbs, np.flatnonzero(live), WatermarkThumbnailer.shape)
        if not len(rows):
            return batch
        with inference(self.device):
            logits = self.model(to_device_images(images, self.device, IMAGENET_MEAN, IMAGENET_STD))
            probability = torch.softmax(logits.float(), dim=1)[:, 0]
        put(batch, self.writes[0], rows, probability.cpu().numpy().astype(np.float32))
        return batch
