"""Thumbnails: the exact geometry each scorer's reference preprocessing uses, fixed shapes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from operators.scorers.config import ScoreConfig
from operators.scorers.prepare import (ClipThumbnailer, FaceThumbnailer, WatermarkThumbnailer, decode_thumbs,
                                       thumbnailers)
from operators.scorers.runtime import IMAGENET_MEAN, IMAGENET_STD, to_device_images


def test_clip_thumbnail_equals_open_clip_openai_preprocess(images):
    preprocess = open_clip.image_transform(224, is_train=False, mean=open_clip.OPENAI_DATASET_MEAN,
                                           std=open_clip.OPENAI_DATASET_STD)
    thumb = ClipThumbnailer()
    for img in images:
        ours = to_device_images(thumb(img)[None], torch.device("cpu"), open_clip.OPENAI_DATASET_MEAN,
                                open_clip.OPENAI_DATASET_STD)[0]
        reference = preprocess(img)
        assert ours.shape == reference.shape == (3, 224, 224)
        assert torch.allclose(ours, reference, atol=1e-5)


def test_watermark_thumbnail_equals_laion_preprocess(images):
    laion = T.Compose([T.Resize((256, 256)), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    for img in images:
        rgb = img.convert("RGB")
        ours = to_device_images(WatermarkThumbnailer()(rgb)[None], torch.device("cpu"), IMAGENET_MEAN, IMAGENET_STD)[0]
        assert torch.allclose(ours, laion(rgb), atol=1e-5)


@pytest.mark.parametrize("size,expected_content", [((400, 200), (128, 64)), ((100, 300), (43, 128))])
def test_face_letterbox_scales_longer_side_and_pads_bottom_right(size, expected_content):
    img = Image.new("RGB", size, (255, 255, 255))
    out = FaceThumbnailer(128)(img)
    assert out.shape == (128, 128, 3) and out.dtype == np.uint8 and out.flags["C_CONTIGUOUS"]
    w, h = expected_content
    assert out[:h, :w].min() == 255                       # the image, top-left
    assert out[h:, :].max(initial=0) == 0 and out[:, w:].max(initial=0) == 0  # black padding


def test_thumbnailers_follow_enabled_scorers():
    cfg = ScoreConfig()
    assert sorted(thumbnailers(cfg)) == ["clip224", "face", "wm256"]
    assert thumbnailers(cfg)["face"].shape == (320, 320, 3)
    off = replace(cfg, clip_b32=replace(cfg.clip_b32, enabled=False), clip_l14=replace(cfg.clip_l14, enabled=False),
                  faces=replace(cfg.faces, enabled=False))
    assert sorted(thumbnailers(off)) == ["wm256"]
    assert thumbnailers(replace(cfg, enabled=False)) == {}


def test_decode_thumbs_skips_missing_and_malformed_rows():
    good = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    column = np.empty(4, dtype=object)
    column[:] = [good.tobytes(), None, b"short", (good + 1).tobytes()]
    stacked, rows = decode_thumbs(column, np.array([0, 1, 2, 3]), (2, 2, 3))
    assert rows.tolist() == [0, 3]
    assert np.array_equal(stacked[0], good) and np.array_equal(stacked[1], good + 1)
