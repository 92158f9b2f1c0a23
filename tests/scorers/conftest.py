"""Shared fixtures of the scorer tests: one set of tiny random-init weight files per session,
loaded through the production registry, and a few deterministic test images."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from operators.scorers.random_init import write_random_weights

FACE_SIZE = 96         # small letterbox keeps the ResNet-50 RetinaFace fast on CPU


@pytest.fixture(scope="session")
def tiny_cfg(tmp_path_factory):
    cfg = write_random_weights(tmp_path_factory.mktemp("weights"), arch="tiny", seed=0)
    return replace(cfg, face_size=FACE_SIZE, use_gpu=False)


@pytest.fixture(scope="session")
def images() -> list[Image.Image]:
    """Smooth colour images of different sizes and modes (noise would be unlike photos)."""
    rng = np.random.default_rng(7)
    out = []
    for i, (w, h) in enumerate([(320, 240), (240, 400), (500, 260), (260, 260)]):
        yy, xx = np.mgrid[0:h, 0:w]
        base = rng.uniform(0, 1, 3)
        arr = np.stack([(np.sin(xx / (9 + i) + c * 2) * 0.5 + 0.5) * 255 * base[c] for c in range(3)], axis=-1)
        arr = (arr + (yy / h * 60)[..., None]).clip(0, 255).astype(np.uint8)
        img = Image.fromarray(arr)
        out.append(img.convert("L") if i == 3 else img)
    return out
