"""The two small heads on the L2-normalised CLIP L/14 image embedding: LAION's aesthetic
predictor v2 and LAION's CLIP-based NSFW detector, with state-dict layouts of the published files.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class AestheticMLP(nn.Module):
    """LAION improved aesthetic predictor ("sac+logos+ava1-l14-linearMSE.pth"): five Linear layers
    768→1024→128→64→16→1 without activations, Dropouts between them (inactive in eval), so the
    weights sit at layers.0 / .2 / .4 / .6 / .7 exactly as in the published state dict."""

    def __init__(self, in_dim: int = 768) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_dim, 1024),
            nn.Dropout(0.2),
            nn.Linear(1024, 128),
            nn.Dropout(0.2),
            nn.Linear(128, 64),
            nn.Dropout(0.1),
            nn.Linear(64, 16),
            nn.Linear(16, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).squeeze(-1)


class Normalization(nn.Module):
    """Keras' Normalization layer as LAION ported it: (x - mean) / (sqrt(variance) + 1e-10)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("variance", torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / (self.variance.sqrt() + 1e-10)


class NsfwHead(nn.Module):
    """LAION CLIP-based NSFW detector for ViT-L/14 (the AutoKeras model "clip_autokeras_binary_nsfw",
    ported by LAION to "clip_ViT-L-14_openai_binary_nsfw_head.pth"): Normalization → Dense 64 →
    ReLU → Dense 512 → ReLU → Dense 256 → ReLU → Dense 1 → sigmoid. Output: P(NSFW)."""

    def __init__(self, in_dim: int = 768) -> None:
        super().__init__()
        self.norm = Normalization(in_dim)
        self.linear_1 = nn.Linear(in_dim, 64)
        self.linear_2 = nn.Linear(64, 512)
        self.linear_3 = nn.Linear(512, 256)
        self.linear_4 = nn.Linear(256, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.linear_1(self.norm(x)))
        x = torch.relu(self.linear_2(x))
        x = torch.relu(self.linear_3(x))
        return torch.sigmoid(self.linear_4(x)).squeeze(-1)


HEADS: dict[str, type[nn.Module]] = {"laion_aesthetic_v2": AestheticMLP, "laion_nsfw_l14": NsfwHead}


def build_head(architecture: str, in_dim: int) -> nn.Module:
    if architecture not in HEADS:
        raise ValueError(f"unknown head architecture {architecture!r}; known: {sorted(HEADS)}")
    return HEADS[architecture](in_dim)


def load_head(architecture: str, path: str | Path, in_dim: int) -> nn.Module:
    """Build the head and load its state dict (strict: a wrong file fails loudly)."""
    head = build_head(architecture, in_dim)
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    head.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state, strict=True)
    return head.eval()
