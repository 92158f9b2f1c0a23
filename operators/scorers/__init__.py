"""The score stage: CLIP similarities + aesthetic + NSFW (one actor pool), watermark, faces (GPU
actor pools), token counts (CPU tasks); every model comes from one registry of weights sources.

`build_scorer_specs(cfg)` is what the pipeline maps over the Dataset (classes + constructor
arguments + resources, so models load in the actors, never on the driver); `build_scorers(cfg)`
instantiates the same list for local loops and tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from operators.base import Batch, Operator, Resources
from operators.scorers.config import ModelSpec, PoolSpec, ScoreConfig
from operators.scorers.registry import (COLUMNS, MODEL_KEYS, MissingModelsError, ModelStatus, check_models,
                                        unavailable_scorers)
from operators.scorers.runtime import null_columns

__all__ = [
    "COLUMNS", "MODEL_KEYS", "MissingModelsError", "ModelSpec", "ModelStatus", "NullScores", "PoolSpec",
    "ScoreConfig", "ScorerSpec", "build_scorer_specs", "build_scorers", "check_models", "score_columns",
    "unavailable_scorers",
]

# (step name, module, class, the models it loads), in pipeline order after the token counter
POOLS = (
    ("clip", "operators.scorers.clip", "ClipScorer", ("clip_b32", "clip_l14", "aesthetic", "nsfw")),
    ("watermark", "operators.scorers.watermark", "WatermarkScorer", ("watermark",)),
    ("faces", "operators.scorers.faces", "FaceCounter", ("faces",)),
)


@dataclass(frozen=True)
class ScorerSpec:
    """One step of the score stage: `cls(**kwargs)` on an actor pool (resources.pool set) or as
    tasks (pool None)."""

    name: str
    cls: type
    kwargs: dict[str, Any] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)


class NullScores(Operator):
    """Stands in for a pool whose every model is unavailable or disabled: null columns, no actor,
    no GPU held; drops the thumbnail that pool would have read."""

    stage = "score"

    def __init__(self, writes: tuple[str, ...], consumes: tuple[str, ...] = ()) -> None:
        self.writes = writes
        self.consumes = consumes

    def resources(self) -> Resources:
        return Resources(num_cpus=0.25, batch_size=None, pool=None)

    def process(self, batch: Batch, live) -> Batch:
        for name in self.consumes:
            batch.pop(name, None)
        null_columns(batch, self.writes)
        return batch


def score_columns(cfg: ScoreConfig) -> tuple[str, ...]:
    """Every column the score stage writes (null where a scorer is disabled or unavailable)."""
    from operators.scorers.tokens import TEXT_COLUMNS

    return TEXT_COLUMNS + tuple(c for key in MODEL_KEYS + ("tokens",) for c in COLUMNS[key])


def build_scorer_specs(cfg: ScoreConfig) -> list[ScorerSpec]:
    """The score stage in pipeline order: CPU token counter, then the model pools.

    A pool none of whose models can load (per `check_models`, run on the driver) becomes a
    NullScores task, so no actor or GPU fraction is reserved for nothing.
    """
    import importlib

    from operators.scorers.tokens import TokenCounter

    if not cfg.enabled:
        return []
    specs = [ScorerSpec("tokens", TokenCounter, {"cfg": cfg},
                        Resources(num_cpus=1.0, batch_size=cfg.token_batch_size, pool=None))]
    available = {s.name for s in check_models(cfg) if s.available}
    for name, module, class_name, models in POOLS:
        cls = getattr(importlib.import_module(module), class_name)
        if available.intersection(models):
            specs.append(ScorerSpec(name, cls, {"cfg": cfg}, cls.pool_resources(cfg)))
        else:
            null = {"writes": cls.writes, "consumes": tuple(c for c in cls.reads if c.startswith("thumb_"))}
            specs.append(ScorerSpec(name, NullScores, null, NullScores(**null).resources()))
    return specs


def build_scorers(cfg: ScoreConfig) -> list[Operator]:
    """The same steps as `build_scorer_specs`, instantiated (models load here)."""
    return [spec.cls(**spec.kwargs) for spec in build_scorer_specs(cfg)]
