"""The run config: every stage's frozen dataclass composed, loaded from YAML, CLI-overridable.

`configs/local.yaml` is the embedded default; `--config FILE` replaces it; `--set
section.key=value` overrides single values. The resolved config is saved beside the output.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from operators.config import ConfigError, from_dict, to_dict
from operators.dedup.config import DedupConfig
from operators.extract.config import ExtractConfig
from operators.fetch.config import FetchConfig
from operators.filters.config import TextConfig
from operators.images.config import ImageConfig
from operators.scorers.config import ScoreConfig

STAGES = ("extract", "text", "fetch", "image", "dedup", "score")
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "configs" / "local.yaml"


@dataclass(frozen=True)
class JobConfig:
    until: str = "score"                 # last stage run: extract | text | fetch | image | dedup | score
    ray_address: str | None = None       # None: RAY_ADDRESS if set, else a local Ray
    num_cpus: int | None = None          # local Ray only
    shuffle_partitions: int = 8          # hash-shuffle partitions for the global steps
    limit_files: int | None = None
    s3_endpoint_url: str | None = None
    manifest_prefix: str = "https://data.commoncrawl.org/"


@dataclass(frozen=True)
class WriteConfig:
    partition_cols: tuple[str, ...] = ("crawl",)
    min_rows_per_file: int = 100_000     # Ray buffers this many rows per write task (DuckDB likes big files)
    max_rows_per_file: int = 1_000_000
    store_images: bool = False           # COYO ships URLs; --store-images adds the bytes
    compression: str = "zstd"


@dataclass(frozen=True)
class RunConfig:
    job: JobConfig = field(default_factory=JobConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    text: TextConfig = field(default_factory=TextConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    score: ScoreConfig = field(default_factory=ScoreConfig)
    write: WriteConfig = field(default_factory=WriteConfig)

    def __post_init__(self) -> None:
        if self.job.until not in STAGES:
            raise ConfigError(f"job.until must be one of {list(STAGES)}, got {self.job.until!r}")

    def runs(self, stage: str) -> bool:
        """Whether `stage` is part of this run (every stage up to job.until)."""
        return STAGES.index(stage) <= STAGES.index(self.job.until)


def parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"--set expects section.key=value, got {text!r}")
    key, raw = text.split("=", 1)
    return key.strip().split("."), yaml.safe_load(raw) if raw.strip() else ""


def merge(base: dict[str, Any], keys: list[str], value: Any) -> None:
    node = base
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {'.'.join(keys)}: {key} is not a section")
    node[keys[-1]] = value


def load_config(path: str | Path | None = None, overrides: list[tuple[list[str], Any]] | None = None) -> RunConfig:
    """Load YAML (default configs/local.yaml), apply overrides, validate into a RunConfig."""
    source = Path(path) if path else DEFAULT_CONFIG
    try:
        data = yaml.safe_load(source.read_text()) or {}
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {source}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {source} must hold a mapping of sections")
    for keys, value in overrides or []:
        merge(data, keys, value)
    return from_dict(RunConfig, data)


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def replace(cfg: RunConfig, section: str, **changes: Any) -> RunConfig:
    return dataclasses.replace(cfg, **{section: dataclasses.replace(getattr(cfg, section), **changes)})
