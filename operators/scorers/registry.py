"""Where each scorer's weights come from: one resolver for local paths, s3:// (staged once per
node into the cache), https:// URLs and open_clip pretrained tags (cache, download on request).

The driver asks `check_models` what would load (nothing is downloaded or staged there); the
actors call `weights_path`, which stages or downloads under a per-node file lock. A model whose
weights cannot be had is unavailable: its columns stay null and the reason says how to fix it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from operators.config import ConfigError
from operators.scorers.config import ModelSpec, ScoreConfig

log = logging.getLogger("ccpairs.scorers")

MODEL_KEYS = ("clip_b32", "clip_l14", "aesthetic", "nsfw", "watermark", "faces")
# the output columns each model (and the CPU token counter) fills
COLUMNS: dict[str, tuple[str, ...]] = {
    "clip_b32": ("clip_similarity_vitb32",),
    "clip_l14": ("clip_similarity_vitl14",),
    "aesthetic": ("aesthetic_score_laion_v2",),
    "nsfw": ("nsfw_score",),
    "watermark": ("watermark_score",),
    "faces": ("num_faces",),
    "tokens": ("num_tokens_bert", "num_tokens_gpt"),
}
# heads that read another model's embedding
NEEDS = {"aesthetic": "clip_l14", "nsfw": "clip_l14"}
CLIP_KEYS = ("clip_b32", "clip_l14")
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin", ".ckpt")
FETCH_HINT = ("run `ccpairs models fetch --to DIR` on a machine with internet access, copy DIR here and set "
              "score.cache_dir=DIR (or point score.{name}.weights at the file, or set score.download=true "
              "where the workers are online)")
DOWNLOAD_TIMEOUT_S = 60


class MissingModelsError(ConfigError):
    """--require-scores and at least one enabled scorer has no weights."""


class WeightsUnavailable(Exception):
    """An actor could not obtain a model's weights; the message says why and how to fix it."""


@dataclass(frozen=True)
class ModelStatus:
    """What one model would load, and from where; or why it cannot."""

    name: str                # config key: clip_b32, clip_l14, aesthetic, nsfw, watermark, faces
    architecture: str
    weights: str             # the source as configured
    path: str                # local file that loads (or will, after staging / download); "" if none
    available: bool
    action: str              # "load" | "stage from s3" | "download" | "" (unavailable)
    reason: str = ""         # why not, and how to provide the file ("" when available)

    @property
    def columns(self) -> tuple[str, ...]:
        return COLUMNS[self.name]

    def line(self) -> str:
        state = f"{self.action} {self.path}" if self.available else f"UNAVAILABLE: {self.reason}"
        return f"{self.name:<10} {self.architecture:<22} {state}"


def model_spec(cfg: ScoreConfig, name: str) -> ModelSpec:
    return getattr(cfg, name)


def cache_root(cfg: ScoreConfig) -> Path:
    return Path(os.path.expanduser(cfg.cache_dir))


# ----------------------------------------------------------------------------- sources


def source_kind(weights: str) -> str:
    """none | s3 | url | path | tag (an open_clip pretrained tag such as "openai")."""
    if not weights:
        return "none"
    if weights.startswith(("s3://", "s3a://")):
        return "s3"
    if weights.startswith(("http://", "https://")):
        return "url"
    if weights.startswith("file://"):
        return "path"
    if os.sep in weights or weights.startswith(("~", ".")) or weights.endswith(WEIGHT_SUFFIXES):
        return "path"
    return "tag"


def local_path(weights: str) -> Path:
    if weights.startswith("file://"):
        weights = urllib.parse.urlparse(weights).path
    return Path(os.path.expanduser(weights))


def cached_location(cfg: ScoreConfig, spec: ModelSpec) -> Path:
    """Where an s3 / url / tag source lives inside cache_dir (a file; for tags a folder)."""
    root = cache_root(cfg)
    kind = source_kind(spec.weights)
    if kind == "s3":
        parsed = urllib.parse.urlparse(spec.weights)
        return root / "s3" / parsed.netloc / parsed.path.lstrip("/")
    if kind == "url":
        return root / urllib.parse.unquote(os.path.basename(urllib.parse.urlparse(spec.weights).path))
    if kind == "tag":
        return root / "open_clip" / spec.architecture / spec.weights
    raise ValueError(f"{spec.weights!r} is not a cached source")


def _file_in(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
    files.sort(key=lambda p: p.suffix != ".safetensors")
    return files[0] if files else None


def _cached_file(cfg: ScoreConfig, spec: ModelSpec) -> Path | None:
    where = cached_location(cfg, spec)
    if source_kind(spec.weights) == "tag":
        return _file_in(where)
    return where if where.is_file() else None


def _open_clip_tag_cfg(spec: ModelSpec) -> dict:
    import open_clip

    return open_clip.get_pretrained_cfg(spec.architecture, spec.weights) or {}


# ----------------------------------------------------------------------------- check (driver)


def check_model(name: str, cfg: ScoreConfig) -> ModelStatus:
    """What `name` would load. Looks at files only: never downloads or stages anything."""
    spec = model_spec(cfg, name)
    kind = source_kind(spec.weights)
    hint = FETCH_HINT.format(name=name)

    def status(path: Path | str, available: bool, action: str, reason: str = "") -> ModelStatus:
        return ModelStatus(name, spec.architecture, spec.weights, str(path), available, action, reason)

    if kind == "none":
        return status("", False, "", f"no weights configured (set score.{name}.weights)")
    if kind == "path":
        path = local_path(spec.weights)
        if path.is_file():
            return status(path, True, "load")
        return status("", False, "", f"weights file not found: {path}")
    if kind == "tag":
        if name not in CLIP_KEYS or not _open_clip_tag_cfg(spec):
            return status("", False, "", f"{spec.weights!r} is neither a file nor an open_clip pretrained tag "
                                         f"of {spec.architecture!r}")
    cached = _cached_file(cfg, spec)
    if cached is not None:
        return status(cached, True, "load")
    where = cached_location(cfg, spec)
    if kind == "s3":
        try:
            exists = _s3_filesystem(spec.weights).exists(spec.weights)
        except Exception as exc:  # credentials, endpoint, network: report, don't crash the check
            return status("", False, "", f"cannot reach {spec.weights}: {type(exc).__name__}: {exc}")
        if exists:
            return status(where, True, "stage from s3")
        return status("", False, "", f"{spec.weights} does not exist")
    if cfg.download:
        return status(where, True, "download")
    return status("", False, "", f"not in cache: {where} ({hint})")


def check_models(cfg: ScoreConfig) -> list[ModelStatus]:
    """Status of every enabled model (heads after the model they read), then the tokenizers.

    With `cfg.require_scores`, raises MissingModelsError naming the missing files and how to
    provide them, so a run fails at start-up before any WARC is read.
    """
    statuses: dict[str, ModelStatus] = {}
    for name in MODEL_KEYS:
        if not model_spec(cfg, name).enabled:
            continue
        status = check_model(name, cfg)
        needed = NEEDS.get(name)
        if status.available and needed and not (needed in statuses and statuses[needed].available):
            why = "disabled" if needed not in statuses else "unavailable"
            status = ModelStatus(name, status.architecture, status.weights, "", False, "",
                                 f"needs the {needed} image embedding, which is {why}")
        statuses[name] = status
    if cfg.tokens:
        from operators.scorers.tokens import tokens_status

        statuses["tokens"] = tokens_status(cfg)
    result = list(statuses.values())
    missing = [s for s in result if not s.available]
    if cfg.require_scores and missing:
        lines = "\n".join(f"  - {s.name} ({s.architecture}, weights {s.weights or '-'}): {s.reason}" for s in missing)
        raise MissingModelsError(f"require_scores: {len(missing)} scorer(s) have no weights:\n{lines}")
    return result


def unavailable_scorers(cfg: ScoreConfig) -> dict[str, str]:
    """scorer -> reason, for every enabled scorer whose weights cannot be had (never raises)."""
    if not cfg.enabled:
        return {}
    return {s.name: s.reason for s in check_models(replace(cfg, require_scores=False)) if not s.available}


# ----------------------------------------------------------------------------- obtain (actors)


def weights_path(name: str, cfg: ScoreConfig) -> Path:
    """The local weights file of `name`, staging from s3 / downloading into the cache if needed.

    Concurrent actors on one node serialise on a lock file, so a file is staged once per node.
    Raises WeightsUnavailable with the reason when the file cannot be had.
    """
    spec = model_spec(cfg, name)
    kind = source_kind(spec.weights)
    if kind in ("none", "path") or (kind == "tag" and not _open_clip_tag_cfg(spec)):
        status = check_model(name, cfg)
        if not status.available:
            raise WeightsUnavailable(status.reason)
        return Path(status.path)
    cached = _cached_file(cfg, spec)
    if cached is not None:
        return cached
    if kind in ("url", "tag") and not cfg.download:
        raise WeightsUnavailable(f"not in cache: {cached_location(cfg, spec)} ({FETCH_HINT.format(name=name)})")
    where = cached_location(cfg, spec)
    with _node_lock(where):
        cached = _cached_file(cfg, spec)           # another actor may have finished meanwhile
        if cached is not None:
            return cached
        try:
            if kind == "s3":
                log.info("staging %s into %s", spec.weights, where)
                _atomic_fetch(where, lambda tmp: _s3_filesystem(spec.weights).get(spec.weights, str(tmp)))
                return where
            return obtain(name, spec, where)
        except Exception as exc:
            raise WeightsUnavailable(f"could not fetch {spec.weights}: {type(exc).__name__}: {exc}") from exc


def obtain(name: str, spec: ModelSpec, where: Path) -> Path:
    """Download a url or open_clip-tag source to its cache location (online machines only)."""
    if source_kind(spec.weights) == "url":
        log.info("downloading %s for %s", spec.weights, name)
        _atomic_fetch(where, lambda tmp: _download(spec.weights, tmp))
        return where
    import open_clip

    log.info("downloading open_clip %s/%s for %s", spec.architecture, spec.weights, name)
    where.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=where.parent) as tmp:
        got = Path(open_clip.download_pretrained(_open_clip_tag_cfg(spec), cache_dir=tmp))
        target = where / got.name
        _atomic_fetch(target, lambda dest: shutil.copyfile(got, dest))   # follows HF cache symlinks
    return target


def fetch_models(cfg: ScoreConfig, to_dir: str, progress: Callable[[str], None] = print) -> list[ModelStatus]:
    """`ccpairs models fetch`: download every enabled url / tag source into `to_dir` (its cache
    layout), so that `score.cache_dir=to_dir` finds them offline. Local and s3 sources are only
    checked."""
    target = replace(cfg, cache_dir=str(to_dir), download=True, require_scores=False)
    results = []
    for name in MODEL_KEYS:
        spec = model_spec(target, name)
        if not spec.enabled:
            continue
        if source_kind(spec.weights) in ("url", "tag"):
            try:
                path = weights_path(name, target)
                progress(f"{name}: {path}")
            except WeightsUnavailable as exc:
                progress(f"{name}: FAILED {exc}")
        results.append(check_model(name, replace(target, download=False)))
    return results


# ----------------------------------------------------------------------------- helpers


def _s3_filesystem(url: str):
    from operators.writers.storage import resolve, storage_options_for

    fs, _ = resolve(url, storage_options_for(url))
    return fs


def _download(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out, length=1 << 20)


def _atomic_fetch(dest: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary name then rename, so no reader ever sees half a file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _node_lock(where: Path) -> Iterator[None]:
    where.parent.mkdir(parents=True, exist_ok=True)
    with open(where.parent / f".{where.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
