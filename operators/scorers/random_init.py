"""Random-init weight files for every scorer, tiny or of the real architectures, in the formats the
registry loads, plus the ScoreConfig pointing at them: tests and benchmarks exercise the very
loader code path production uses, with no pretrained weights anywhere.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import open_clip
import torch

from operators.scorers.clip import open_clip_name
from operators.scorers.config import ScoreConfig
from operators.scorers.faces import build_retinaface
from operators.scorers.heads import build_head
from operators.scorers.watermark import build_watermark_model

# open_clip model configs small enough for CPU tests (224 px input, like the real ones)
_TINY_TEXT = {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2}
_TINY_VISION = {"image_size": 224, "layers": 2, "width": 64, "head_width": 32}
TINY_CLIP = {
    "ccpairs-tiny-b32": {"embed_dim": 32, "quick_gelu": True, "text_cfg": _TINY_TEXT,
                         "vision_cfg": {**_TINY_VISION, "patch_size": 32}},
    "ccpairs-tiny-l14": {"embed_dim": 48, "quick_gelu": True, "text_cfg": _TINY_TEXT,
                         "vision_cfg": {**_TINY_VISION, "patch_size": 28}},
}
ARCHITECTURES = {
    "tiny": {"clip_b32": "ccpairs-tiny-b32", "clip_l14": "ccpairs-tiny-l14", "watermark": "test_efficientnet"},
    "real": {"clip_b32": "ViT-B-32-quickgelu", "clip_l14": "ViT-L-14-quickgelu", "watermark": "efficientnet_b3"},
}


def write_random_weights(folder: str | Path, arch: str = "tiny", seed: int = 0,
                         base: ScoreConfig | None = None) -> ScoreConfig:
    """Write random-init weights of every scorer into `folder`; return `base` (default: the
    defaults) with each model's weights pointing at its file and the cache inside `folder`."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {sorted(ARCHITECTURES)}, got {arch!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    cfg = base or ScoreConfig()
    names = dict(ARCHITECTURES[arch])
    if arch == "tiny":
        for key in ("clip_b32", "clip_l14"):
            config_file = folder / f"{names[key]}.json"
            config_file.write_text(json.dumps(TINY_CLIP[names[key]]))
            names[key] = str(config_file)

    half = arch == "real"                      # halves the files (ViT-L/14: 1.7 GB in fp32)
    specs = {}
    for key in ("clip_b32", "clip_l14"):
        model = open_clip.create_model(open_clip_name(names[key]))
        specs[key] = _save(folder / f"{key}.pt", model.state_dict(), half)
    embed_dim = int(model.visual.output_dim)   # the L/14 embedding both heads read
    for key in ("aesthetic", "nsfw"):
        head = build_head(getattr(cfg, key).architecture, embed_dim)
        if key == "nsfw":   # a non-trivial Keras Normalization
            head.norm.mean.normal_(0, 0.05)
            head.norm.variance.uniform_(0.5, 2.0)
        specs[key] = _save(folder / f"{key}.pt", head.state_dict(), half)
    specs["watermark"] = _save(folder / "watermark.pt", build_watermark_model(names["watermark"]).state_dict(), half)
    specs["faces"] = _save(folder / "faces.pt", build_retinaface(cfg.faces.architecture).state_dict(), half)

    changes = {key: replace(getattr(cfg, key), weights=path, enabled=True, **(
        {"architecture": names[key]} if key in names else {})) for key, path in specs.items()}
    return replace(cfg, cache_dir=str(folder / "cache"), download=False, **changes)


def _save(path: Path, state: dict[str, torch.Tensor], half: bool) -> str:
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    torch.save(state, str(path))
    return str(path)
