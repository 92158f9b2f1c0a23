"""Thumbnails the image stage cuts from its one decode, in exactly the geometry each scorer needs,
so the score stage ships small uint8 arrays to the GPU and never decodes an image again.

A thumbnail travels as column `thumb_<name>`: raw bytes of a uint8 H×W×3 RGB array (C order).
Normalisation (to float, mean/std) happens on the device inside the scorer.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from operators.scorers.config import ScoreConfig

CLIP_SIZE = 224
WATERMARK_SIZE = 256


def thumb_column(name: str) -> str:
    return f"thumb_{name}"


class Thumbnailer:
    """Turns a decoded RGB PIL image into a fixed-shape uint8 array."""

    name: str = "?"
    shape: tuple[int, int, int] = (0, 0, 3)

    def __call__(self, img: Image.Image) -> np.ndarray:
        return np.array(self.geometry(img if img.mode == "RGB" else img.convert("RGB")), dtype=np.uint8, order="C")

    def geometry(self, img: Image.Image) -> Image.Image:  # pragma: no cover - abstract
        raise NotImplementedError


class ClipThumbnailer(Thumbnailer):
    """open_clip's OpenAI eval preprocess up to ToTensor: shortest side to 224 (bicubic), centre crop."""

    name = "clip224"
    shape = (CLIP_SIZE, CLIP_SIZE, 3)

    def geometry(self, img: Image.Image) -> Image.Image:
        img = TF.resize(img, CLIP_SIZE, interpolation=InterpolationMode.BICUBIC)
        return TF.center_crop(img, [CLIP_SIZE, CLIP_SIZE])


class WatermarkThumbnailer(Thumbnailer):
    """LAION watermark detector input: squash to 256×256 (bilinear), as its Resize((256, 256))."""

    name = "wm256"
    shape = (WATERMARK_SIZE, WATERMARK_SIZE, 3)

    def geometry(self, img: Image.Image) -> Image.Image:
        return TF.resize(img, [WATERMARK_SIZE, WATERMARK_SIZE], interpolation=InterpolationMode.BILINEAR)


class FaceThumbnailer(Thumbnailer):
    """Letterbox for batched RetinaFace: the image scaled (up or down) so its longer side is
    `size`, pasted at the top-left of a black size×size square (bounded, fixed shape)."""

    name = "face"

    def __init__(self, size: int) -> None:
        self.size = size
        self.shape = (size, size, 3)

    def geometry(self, img: Image.Image) -> Image.Image:
        scale = self.size / max(img.size)
        w, h = (max(1, min(self.size, round(side * scale))) for side in img.size)
        canvas = Image.new("RGB", (self.size, self.size))
        canvas.paste(img.resize((w, h), Image.Resampling.BILINEAR), (0, 0))
        return canvas


def thumbnailers(cfg: ScoreConfig) -> dict[str, Thumbnailer]:
    """The thumbnails the enabled scorers need (none when scoring is off)."""
    if not cfg.enabled:
        return {}
    out: list[Thumbnailer] = []
    if cfg.clip_b32.enabled or cfg.clip_l14.enabled:
        out.append(ClipThumbnailer())
    if cfg.watermark.enabled:
        out.append(WatermarkThumbnailer())
    if cfg.faces.enabled:
        out.append(FaceThumbnailer(cfg.face_size))
    return {t.name: t for t in out}


def decode_thumbs(column: np.ndarray, rows: np.ndarray, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Stack the thumbnails of `rows` into one uint8 array (k, H, W, 3).

    Returns (array, rows that had a thumbnail of the right size); a row without one is left
    out (its scores stay null) instead of failing the batch.
    """
    size = int(np.prod(shape))
    good = [int(i) for i in rows if isinstance(column[i], (bytes, bytearray, memoryview)) and len(column[i]) == size]
    out = np.empty((len(good), *shape), dtype=np.uint8)
    for k, i in enumerate(good):
        out[k] = np.frombuffer(column[i], dtype=np.uint8).reshape(shape)
    return out, np.asarray(good, dtype=np.int64)
