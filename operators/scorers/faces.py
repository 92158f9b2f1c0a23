"""Face count with RetinaFace (ResNet-50, the retina-face package's PyTorch module and weights),
run batched on fixed-size letterboxed thumbnails, decoded and NMS-ed on the device.

The decoding reproduces the package's `detect_faces` (anchors, box deltas, clipping, score
threshold, NMS at IoU 0.4 with its +1 pixel box convention) for a whole batch at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.ops import batched_nms

from operators.base import Batch
from operators.scorers.config import ScoreConfig
from operators.scorers.prepare import FaceThumbnailer, decode_thumbs, thumb_column
from operators.scorers.registry import COLUMNS
from operators.scorers.runtime import ModelScorer, inference, null_columns, put

NMS_IOU = 0.4
# per stride: the two base anchors (x1, y1, x2, y2) of RetinaFace's feature pyramid levels
BASE_ANCHORS = {
    32: ((-248.0, -248.0, 263.0, 263.0), (-120.0, -120.0, 135.0, 135.0)),
    16: ((-56.0, -56.0, 71.0, 71.0), (-24.0, -24.0, 39.0, 39.0)),
    8: ((-8.0, -8.0, 23.0, 23.0), (0.0, 0.0, 15.0, 15.0)),
}
STRIDES = (32, 16, 8)                      # the order of the network's outputs
ARCHITECTURES = ("retinaface_resnet50",)


def build_retinaface(architecture: str) -> nn.Module:
    """The retina-face package's PyTorch RetinaFace (random init; its own loader would download)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown face detector {architecture!r}; known: {list(ARCHITECTURES)}")
    from retinaface.model.retinaface_pth_model import RetinaFace

    return RetinaFace()


def load_retinaface(architecture: str, weights_file: Path) -> nn.Module:
    model = build_retinaface(architecture)
    model.load_state_dict(torch.load(str(weights_file), map_location="cpu", weights_only=True), strict=True)
    return model


def anchors(height: int, width: int, stride: int, device: torch.device) -> torch.Tensor:
    """(height * width * 2, 4) anchors in (row, column, anchor) order, as the network's outputs."""
    base = torch.tensor(BASE_ANCHORS[stride], device=device)
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    shifts = torch.stack([xs, ys, xs, ys], dim=-1).reshape(-1, 1, 4).float() * stride
    return (shifts + base.view(1, -1, 4)).reshape(-1, 4)


def decode_boxes(anchor_boxes: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """Box deltas (N, K, 4) on anchors (K, 4) → boxes (N, K, 4), with the +1 width convention."""
    widths = anchor_boxes[:, 2] - anchor_boxes[:, 0] + 1.0
    heights = anchor_boxes[:, 3] - anchor_boxes[:, 1] + 1.0
    ctr_x = anchor_boxes[:, 0] + 0.5 * (widths - 1.0)
    ctr_y = anchor_boxes[:, 1] + 0.5 * (heights - 1.0)
    pred_x = deltas[..., 0] * widths + ctr_x
    pred_y = deltas[..., 1] * heights + ctr_y
    half_w = 0.5 * (torch.exp(deltas[..., 2]) * widths - 1.0)
    half_h = 0.5 * (torch.exp(deltas[..., 3]) * heights - 1.0)
    return torch.stack([pred_x - half_w, pred_y - half_h, pred_x + half_w, pred_y + half_h], dim=-1)


def count_faces(outputs: list[torch.Tensor], image_hw: tuple[int, int], threshold: float) -> np.ndarray:
    """Faces per image from RetinaFace's 9 NHWC outputs (cls prob, box, landmarks per stride)."""
    height, width = image_hw
    scores, boxes = [], []
    for level, stride in enumerate(STRIDES):
        prob, deltas = outputs[3 * level].float(), outputs[3 * level + 1].float()
        n, h, w, channels = prob.shape
        scores.append(prob[..., channels // 2:].reshape(n, -1))           # face channels after background
        level_boxes = decode_boxes(anchors(h, w, stride, prob.device), deltas.reshape(n, -1, 4))
        level_boxes[..., 0::2] = level_boxes[..., 0::2].clamp(0, width - 1)
        level_boxes[..., 1::2] = level_boxes[..., 1::2].clamp(0, height - 1)
        boxes.append(level_boxes)
    score = torch.cat(scores, dim=1)
    image, index = torch.nonzero(score >= threshold, as_tuple=True)
    n_images = score.shape[0]
    if not len(image):
        return np.zeros(n_images, dtype=np.int32)
    candidates = torch.cat(boxes, dim=1)[image, index]
    candidates[:, 2:] += 1.0                     # IoU with the package's (x2 - x1 + 1) areas
    keep = batched_nms(candidates, score[image, index], image, NMS_IOU)
    return torch.bincount(image[keep], minlength=n_images).cpu().numpy().astype(np.int32)


class FaceCounter(ModelScorer):
    reads = (thumb_column(FaceThumbnailer.name),)
    writes = COLUMNS["faces"]
    pool_field = "faces_pool"
    channels_last = True

    def __init__(self, cfg: ScoreConfig) -> None:
        super().__init__(cfg)
        self.thumbnailer = FaceThumbnailer(cfg.face_size)
        self.model = self.load("faces", lambda path: load_retinaface(cfg.faces.architecture, path))

    def process(self, batch: Batch, live: np.ndarray) -> Batch:
        null_columns(batch, self.writes)
        thumbs = batch.pop(self.reads[0], None)
        if thumbs is None or self.model is None:
            return batch
        images, rows = decode_thumbs(thumbs, np.flatnonzero(live), self.thumbnailer.shape)
        if not len(rows):
            return batch
        with inference(self.device):
            x = torch.from_numpy(images).to(self.device, non_blocking=True).float()   # NHWC RGB 0..255
            counts = count_faces(self.model(x), images.shape[1:3], self.cfg.face_confidence)
        put(batch, self.writes[0], rows, counts)
        return batch
