"""The `image` stage's thresholds, with COYO-700M's values as defaults, loadable from YAML."""

from __future__ import annotations

from dataclasses import dataclass

from operators.config import ConfigError


@dataclass(frozen=True)
class ImageConfig:
    """COYO-700M's image rules, all read from the header before any pixel is decoded."""

    min_bytes: int = 5 * 1024  # COYO: image file < 5 KB dropped
    min_side: int = 200  # COYO: min(width, height) < 200 dropped
    max_aspect_ratio: float = 3.0  # COYO: max(w, h) / min(w, h) > 3 dropped
    # Pillow's own decompression-bomb limit (Image.MAX_IMAGE_PIXELS), checked against the header
    # size before decoding; Pillow itself still refuses anything over twice its global limit.
    max_pixels: int = 89_478_485
    keep_bytes: bool = False  # keep image_bytes of kept rows (--store-images); else cleared
    # CPUs Ray reserves per decode task. Those tasks run only with fetch.enabled false (the
    # WARCs' images alone); otherwise the fetch actors decode (FetchDecoder, fetch.actor_cpus).
    task_cpus: float = 1.0

    def __post_init__(self) -> None:
        if self.min_bytes < 0 or self.min_side < 0:
            raise ConfigError(f"image: min_bytes and min_side must be >= 0, got {self.min_bytes}, {self.min_side}")
        if self.max_aspect_ratio < 1.0:
            raise ConfigError(f"image: max_aspect_ratio must be >= 1, got {self.max_aspect_ratio}")
        if not self.task_cpus > 0:
            raise ConfigError(f"image: task_cpus must be > 0, got {self.task_cpus}")
        if self.max_pixels < 1:
            raise ConfigError(f"image: max_pixels must be >= 1, got {self.max_pixels}")
