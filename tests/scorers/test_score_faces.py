"""FaceCounter: batched RetinaFace decoding matches the retina-face package's own detect_faces."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from operators.scorers.faces import FaceCounter, count_faces, load_retinaface
from operators.scorers.prepare import FaceThumbnailer
from tests.scorers.helpers import make_batch

pytestmark = pytest.mark.gpu


def _outputs(size: int, faces: dict[tuple[int, int, int], float]) -> list[torch.Tensor]:
    """Synthetic network outputs for one image: all background except `faces` at (stride, row, col)
    on anchor 0, with zero box deltas (box = anchor)."""
    out = []
    for stride in (32, 16, 8):
        n = size // stride
        prob = torch.zeros(1, n, n, 4)
        prob[..., :2] = 1.0
        for (s, r, c), p in faces.items():
            if s == stride:
                prob[0, r, c, 0], prob[0, r, c, 2] = 1 - p, p
        out += [prob, torch.zeros(1, n, n, 8), torch.zeros(1, n, n, 20)]
    return out


def test_count_faces_thresholds_and_suppresses_overlaps():
    separate = {(8, 2, 2): 0.99, (8, 12, 12): 0.95, (8, 5, 14): 0.5}      # third one under threshold
    assert count_faces(_outputs(128, separate), (128, 128), 0.9).tolist() == [2]
    overlapping = {(8, 4, 4): 0.99, (8, 4, 5): 0.98}                      # 23 px anchors 8 px apart
    assert count_faces(_outputs(128, overlapping), (128, 128), 0.9).tolist() == [1]
    batch = [torch.cat([a, b]) for a, b in zip(_outputs(128, separate), _outputs(128, {}))]
    assert count_faces(batch, (128, 128), 0.9).tolist() == [2, 0]


@pytest.fixture(scope="module")
def confident_model(tiny_cfg):
    """The random-init RetinaFace with face logits pushed up, so it 'finds' many boxes."""
    model = load_retinaface(tiny_cfg.faces.architecture, tiny_cfg.faces.weights).eval()
    with torch.no_grad():
        for head in (model.face_rpn_stride32, model.face_rpn_stride16, model.face_rpn_stride8):
            head.cls_score.bias[:2] -= 2.0
            head.cls_score.bias[2:] += 2.0
    return model


def test_batched_counts_equal_retinaface_package_detect_faces(confident_model, images):
    from retinaface import RetinaFace

    thumbs = np.stack([FaceThumbnailer(96)(img) for img in images])
    with torch.no_grad():
        ours = count_faces(confident_model(torch.from_numpy(thumbs).float()), (96, 96), 0.9)
    reference = [len(RetinaFace.detect_faces(t[..., ::-1].copy(), threshold=0.9, model=confident_model,
                                             allow_upscaling=False)) for t in thumbs]   # it takes BGR
    assert ours.tolist() == reference
    assert min(reference) > 10                    # plenty of overlapping boxes for NMS to sort out


def test_face_counter_columns(tiny_cfg, images):
    counter = FaceCounter(tiny_cfg)
    out = counter(make_batch(tiny_cfg, images, dropped=(0,)))
    assert "thumb_face" not in out and out["num_faces"][0] is None
    assert all(isinstance(out["num_faces"][i], np.int32) and out["num_faces"][i] >= 0 for i in (1, 2, 3))


def test_face_counter_unavailable(tiny_cfg, images):
    cfg = replace(tiny_cfg, faces=replace(tiny_cfg.faces, weights=""))
    counter = FaceCounter(cfg)
    assert "no weights configured" in counter.unavailable["faces"]
    assert list(counter(make_batch(cfg, images))["num_faces"]) == [None] * 4
