"""What every model scorer shares: device choice, mixed precision, uint8 → normalised tensors on
the device, null-filled output columns, and the base class that loads models via the registry."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from operators.base import Batch, Operator, Resources, batch_len, object_array
from operators.scorers.config import ScoreConfig
from operators.scorers.registry import WeightsUnavailable, weights_path

log = logging.getLogger("ccpairs.scorers")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def amp_dtype(device: torch.device) -> torch.dtype:
    """bf16 on GPUs that have it, else fp16; fp32 on CPU."""
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextlib.contextmanager
def inference(device: torch.device) -> Iterator[None]:
    """inference_mode, plus autocast on CUDA."""
    dtype = amp_dtype(device)
    amp = torch.autocast("cuda", dtype=dtype) if dtype != torch.float32 else contextlib.nullcontext()
    with torch.inference_mode(), amp:
        yield


def to_device_images(images: np.ndarray, device: torch.device, mean: Sequence[float], std: Sequence[float],
                     scale: float = 1 / 255) -> torch.Tensor:
    """uint8 (N, H, W, 3) → float (N, 3, H, W) on `device`, `(x * scale - mean) / std`.

    The copy over PCIe stays uint8 (4× smaller than float); the conversion runs on the device.
    """
    tensor = torch.from_numpy(images)
    if device.type == "cuda":
        tensor = tensor.pin_memory().to(device, non_blocking=True)
    x = tensor.permute(0, 3, 1, 2).float().mul_(scale)
    m = torch.tensor(mean, device=device, dtype=x.dtype).view(1, 3, 1, 1)
    s = torch.tensor(std, device=device, dtype=x.dtype).view(1, 3, 1, 1)
    return x.sub_(m).div_(s)


def null_columns(batch: Batch, columns: Sequence[str]) -> None:
    """Set `columns` to all-null object arrays (filled in per live row afterwards)."""
    n = batch_len(batch)
    for name in columns:
        batch[name] = object_array([None] * n)


def put(batch: Batch, column: str, rows: np.ndarray, values: np.ndarray) -> None:
    """Write numpy scalars (float32 / int32) into an object column at `rows`."""
    target = batch[column]
    for i, v in zip(rows.tolist(), values):
        target[i] = v


class ModelScorer(Operator):
    """Base of the GPU scorers: loads its models once per actor through the registry, records
    the ones it could not load in `unavailable` (their columns stay null), sizes its pool."""

    stage = "score"
    pool_field = "?"                      # the ScoreConfig field holding this scorer's PoolSpec
    channels_last = False                 # convnets: NHWC kernels on the GPU (inputs arrive NHWC)

    def __init__(self, cfg: ScoreConfig) -> None:
        self.cfg = cfg
        self.device = pick_device()
        self.unavailable: dict[str, str] = {}
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True     # thumbnails have fixed shapes

    @classmethod
    def pool_resources(cls, cfg: ScoreConfig) -> Resources:
        pool = getattr(cfg, cls.pool_field)
        return Resources(num_cpus=pool.num_cpus, num_gpus=pool.num_gpus if cfg.use_gpu else 0.0,
                         batch_size=pool.batch_size, pool=(pool.min_actors, pool.max_actors))

    def resources(self) -> Resources:
        return self.pool_resources(self.cfg)

    def load(self, name: str, build: Callable[[Path], torch.nn.Module]) -> torch.nn.Module | None:
        """`build(weights_file)` for model `name`, on this actor's device; None if unavailable."""
        if not getattr(self.cfg, name).enabled:
            return None
        try:
            model = build(weights_path(name, self.cfg))
        except Exception as exc:
            if self.cfg.require_scores:
                raise
            reason = str(exc) if isinstance(exc, WeightsUnavailable) else \
                f"could not load {getattr(self.cfg, name).weights}: {type(exc).__name__}: {exc}"
            self.mark_unavailable(name, reason)
            return None
        model = model.to(self.device).eval()
        if self.channels_last and self.device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        return model

    def mark_unavailable(self, name: str, reason: str) -> None:
        self.unavailable[name] = reason
        log.warning("scorer %s unavailable, its columns stay null: %s", name, reason)
