"""CLIP scoring on one actor: B/32 and L/14 image–text cosine similarity, and the aesthetic and
NSFW heads on the same L/14 image embedding (one image-tower pass feeds all three L/14 columns).

B/32 shares the actor with L/14: both read the same 224 px thumbnail and the same texts, so one
actor ships the batch to the GPU once; B/32 adds ~20 % to L/14's cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from operators.base import Batch
from operators.scorers.config import ScoreConfig
from operators.scorers.heads import load_head
from operators.scorers.prepare import CLIP_SIZE, ClipThumbnailer, decode_thumbs, thumb_column
from operators.scorers.registry import COLUMNS, source_kind
from operators.scorers.runtime import ModelScorer, inference, null_columns, put, to_device_images

L14_HEADS = ("aesthetic", "nsfw")


def open_clip_name(architecture: str) -> str:
    """The open_clip model name; a path to a model-config JSON is registered under its stem."""
    import open_clip

    if architecture.endswith(".json"):
        open_clip.add_model_config(architecture)
        return Path(architecture).stem
    return architecture


def load_clip(architecture: str, weights_file: Path) -> torch.nn.Module:
    """An open_clip model of `architecture` with the weights in `weights_file` (strict)."""
    import open_clip

    model = open_clip.create_model(open_clip_name(architecture), pretrained=str(weights_file))
    size = tuple(model.visual.image_size) if isinstance(model.visual.image_size, (tuple, list)) \
        else (model.visual.image_size,) * 2
    if size != (CLIP_SIZE, CLIP_SIZE):
        raise ValueError(f"{architecture} takes {size[0]}x{size[1]} images; the clip thumbnail is {CLIP_SIZE}")
    return model


@dataclass
class LoadedClip:
    name: str                       # clip_b32 | clip_l14
    model: Any
    tokenizer: Callable[[list[str]], torch.Tensor]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    column: str


class ClipScorer(ModelScorer):
    reads = ("text", thumb_column(ClipThumbnailer.name))
    writes = COLUMNS["clip_b32"] + COLUMNS["clip_l14"] + COLUMNS["aesthetic"] + COLUMNS["nsfw"]
    pool_field = "clip_pool"

    def __init__(self, cfg: ScoreConfig) -> None:
        super().__init__(cfg)
        self.clips: list[LoadedClip] = []
        for name in ("clip_b32", "clip_l14"):
            model = self.load(name, lambda path, n=name: load_clip(getattr(cfg, n).architecture, path))
            if model is not None:
                self.clips.append(self._describe(name, model))
        l14 = next((c for c in self.clips if c.name == "clip_l14"), None)
        self.heads: list[tuple[str, torch.nn.Module]] = []
        for name in L14_HEADS:
            spec = getattr(cfg, name)
            if not spec.enabled:
                continue
            if l14 is None:
                self.mark_unavailable(name, "needs the clip_l14 image embedding, which is "
                                            f"{'disabled' if not cfg.clip_l14.enabled else 'unavailable'}")
                continue
            dim = int(l14.model.visual.output_dim)
            head = self.load(name, lambda path, s=spec: load_head(s.architecture, path, dim))
            if head is not None:
                self.heads.append((COLUMNS[name][0], head))

    def _describe(self, name: str, model: torch.nn.Module) -> LoadedClip:
        import open_clip

        spec = getattr(self.cfg, name)
        arch = open_clip_name(spec.architecture)
        preprocess = open_clip.get_model_preprocess_cfg(model)
        if source_kind(spec.weights) == "tag":   # the tag knows its training normalisation
            preprocess = {**preprocess, **{k: v for k, v in open_clip.get_pretrained_cfg(arch, spec.weights).items()
                                           if k in ("mean", "std")}}
        return LoadedClip(name, model, open_clip.get_tokenizer(arch), tuple(preprocess["mean"]),
                          tuple(preprocess["std"]), COLUMNS[name][0])

    def process(self, batch: Batch, live: np.ndarray) -> Batch:
        null_columns(batch, self.writes)
        thumbs = batch.pop(self.reads[1], None)        # consumed here: no later stage needs it
        if thumbs is None or not self.clips:
            return batch
        images, rows = decode_thumbs(thumbs, np.flatnonzero(live), ClipThumbnailer.shape)
        if not len(rows):
            return batch
        texts = batch["text"][rows]
        has_text = np.fromiter((isinstance(t, str) for t in texts), dtype=bool, count=len(texts))
        with inference(self.device):
            for clip in self.clips:
                image_emb = self._embed_images(clip, images)
                if has_text.any():
                    text_emb = self._embed_texts(clip, [t for t in texts[has_text]])
                    similarity = (image_emb[torch.from_numpy(has_text).to(self.device)] * text_emb).sum(-1)
                    put(batch, clip.column, rows[has_text], _float32(similarity))
                if clip.name == "clip_l14":
                    with torch.autocast(self.device.type, enabled=False):   # heads in fp32
                        for column, head in self.heads:
                            put(batch, column, rows, _float32(head(image_emb)))
        return batch

    def _embed_images(self, clip: LoadedClip, images: np.ndarray) -> torch.Tensor:
        x = to_device_images(images, self.device, clip.mean, clip.std)
        return F.normalize(clip.model.encode_image(x).float(), dim=-1)

    def _embed_texts(self, clip: LoadedClip, texts: list[str]) -> torch.Tensor:
        tokens = clip.tokenizer(texts).to(self.device, non_blocking=True)
        return F.normalize(clip.model.encode_text(tokens).float(), dim=-1)


def _float32(values: torch.Tensor) -> np.ndarray:
    return values.float().cpu().numpy().astype(np.float32, copy=False)
