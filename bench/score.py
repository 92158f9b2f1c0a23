"""Score-stage speed: our scorer classes' `__call__` loop against a plain PyTorch loop over the
very same models, batch size and precision, side by side in one process on the same input.

  ours         build_scorers(cfg): batches as the image stage leaves them (thumbnail bytes in
               object columns), every column written back, dead rows honoured
  plain_torch  pre-stacked uint8 arrays → tensor → normalise → forward (+ heads / face decode),
               texts through the same tokenizers: the ceiling for the same models
Both must produce the same numbers. Weights are random-init (no pretrained weights offline),
`--arch tiny` (CPU default) or `--arch real` (ViT-B/32, ViT-L/14, EfficientNet-B3, RetinaFace
R50: the GPU figure). `--ray` adds the end-to-end figure through Ray Data actor pools (the
pipeline's adapter), actor start and model loading included. Prints one JSON object.

    .venv/bin/python bench/score.py --n 16 --batch-size 8
    .venv/bin/python bench/score.py --arch real --n 2048 --batch-size 256 --ray     # on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from operators.base import batch_to_rows, rows_to_batch  # noqa: E402
from operators.scorers import build_scorer_specs, build_scorers  # noqa: E402
from operators.scorers.clip import ClipScorer  # noqa: E402
from operators.scorers.faces import FaceCounter, count_faces  # noqa: E402
from operators.scorers.prepare import thumb_column, thumbnailers  # noqa: E402
from operators.scorers.random_init import write_random_weights  # noqa: E402
from operators.scorers.runtime import IMAGENET_MEAN, IMAGENET_STD, amp_dtype, inference  # noqa: E402
from operators.scorers.tokens import TokenCounter, bert_tokenizer, gpt2_encoding  # noqa: E402
from operators.scorers.watermark import WatermarkScorer  # noqa: E402

WORDS = "red car street portrait smiling woman mountain dawn wallpaper vintage poster city night dog".split()


# ----------------------------------------------------------------------------- input


def make_inputs(n: int, seed: int) -> tuple[list[Image.Image], list[str]]:
    """Smooth synthetic photos of varied sizes and short alt texts."""
    rng = np.random.default_rng(seed)
    images, texts = [], []
    for i in range(n):
        w, h = int(rng.integers(200, 900)), int(rng.integers(200, 900))
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        freq = rng.uniform(4, 40, 3)
        arr = np.stack([np.sin(xx / freq[c] + yy / (freq[c] * 1.7) + c) for c in range(3)], axis=-1)
        images.append(Image.fromarray(((arr * 0.5 + 0.5) * 255).astype(np.uint8)))
        texts.append(" ".join(rng.choice(WORDS, size=int(rng.integers(3, 12)))))
    return images, texts


def make_rows(cfg, images, texts) -> list[dict]:
    thumbs = thumbnailers(cfg)
    return [{"text": t, "drop_stage": None, "drop_reason": None,
             **{thumb_column(name): th(img).tobytes() for name, th in thumbs.items()}}
            for img, t in zip(images, texts)]


# ----------------------------------------------------------------------------- plain PyTorch


class PlainLoop:
    """The same model objects driven by a plain loop over pre-stacked arrays."""

    def __init__(self, ops, cfg, rows):
        self.clip = next(op for op in ops if isinstance(op, ClipScorer))
        self.watermark = next(op for op in ops if isinstance(op, WatermarkScorer)).model
        self.faces = next(op for op in ops if isinstance(op, FaceCounter)).model
        self.tokens = next(op for op in ops if isinstance(op, TokenCounter))
        self.cfg = cfg
        self.device = self.clip.device
        self.arrays = {name: np.stack([np.frombuffer(r[thumb_column(name)], np.uint8).reshape(th.shape) for r in rows])
                       for name, th in thumbnailers(cfg).items()}
        self.texts = [r["text"] for r in rows]

    def _images(self, name, sl, mean=None, std=None):
        x = torch.from_numpy(self.arrays[name][sl]).to(self.device).float()
        if mean is None:
            return x                                                   # NHWC 0..255 (RetinaFace)
        x = x.permute(0, 3, 1, 2) / 255
        mean, std = (torch.tensor(v, device=self.device).view(1, 3, 1, 1) for v in (mean, std))
        return (x - mean) / std

    def run_clip(self, sl):
        out = {}
        texts = self.texts[sl]
        with inference(self.device):
            for clip in self.clip.clips:
                pixels = self._images("clip224", sl, clip.mean, clip.std)
                image = F.normalize(clip.model.encode_image(pixels).float(), dim=-1)
                text = F.normalize(clip.model.encode_text(clip.tokenizer(texts).to(self.device)).float(), dim=-1)
                out[clip.column] = (image * text).sum(-1).cpu().numpy()
                if clip.name == "clip_l14":
                    with torch.autocast(self.device.type, enabled=False):
                        for column, head in self.clip.heads:
                            out[column] = head(image).cpu().numpy()
        return out

    def run_watermark(self, sl):
        with inference(self.device):
            logits = self.watermark(self._images("wm256", sl, IMAGENET_MEAN, IMAGENET_STD))
            return {"watermark_score": torch.softmax(logits.float(), 1)[:, 0].cpu().numpy()}

    def run_faces(self, sl):
        with inference(self.device):
            x = self._images("face", sl)
            return {"num_faces": count_faces(self.faces(x), x.shape[1:3], self.cfg.face_confidence)}

    def run_tokens(self, sl):
        texts = self.texts[sl]
        bert = bert_tokenizer(self.tokens.bert_path).encode_batch(texts, add_special_tokens=False)
        gpt = gpt2_encoding(self.tokens.gpt2_path).encode_ordinary_batch(texts)
        return {"num_tokens_bert": np.array([len(e.ids) for e in bert]),
                "num_tokens_gpt": np.array([len(t) for t in gpt])}


# ----------------------------------------------------------------------------- timing


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_ours(op_list, rows, batch_size, device):
    """Seconds for one pass of the rows through `op_list` in batches; and the outputs."""
    batches = [rows_to_batch(rows[i:i + batch_size]) for i in range(0, len(rows), batch_size)]
    sync(device)
    start = time.perf_counter()
    outs = []
    for batch in batches:
        for op in op_list:
            batch = op(batch)
        outs.append(batch)
    sync(device)
    seconds = time.perf_counter() - start
    return seconds, batch_to_rows({k: np.concatenate([b[k] for b in outs]) for k in outs[0]})


def time_plain(fns, n, batch_size, device):
    sync(device)
    start = time.perf_counter()
    out: dict[str, list] = {}
    for i in range(0, n, batch_size):
        for fn in fns:
            for column, values in fn(slice(i, i + batch_size)).items():
                out.setdefault(column, []).extend(np.asarray(values).tolist())
    sync(device)
    return time.perf_counter() - start, out


def same(ours_rows, plain_out, atol) -> bool:
    for column, values in plain_out.items():
        got = np.array([r[column] for r in ours_rows], dtype=np.float64)
        if not np.allclose(got, np.asarray(values, dtype=np.float64), atol=atol):
            return False
    return True


def run_ray(cfg, rows, batch_size) -> dict:
    import ray

    from jobs.adapter import apply_operator, apply_pool

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        ds = ray.data.from_items(rows, override_num_blocks=max(1, len(rows) // batch_size))
        start = time.perf_counter()
        for spec in build_scorer_specs(cfg):
            ds = apply_pool(ds, spec.cls, spec.resources, spec.kwargs) if spec.resources.pool \
                else apply_operator(ds, spec.cls(**spec.kwargs))
        n = ds.materialize().count()
        seconds = time.perf_counter() - start
    finally:
        ray.shutdown()
    return {"rows": n, "wall_s": round(seconds, 2), "images_per_s_end_to_end": round(n / seconds, 2),
            "note": "actor start-up and model loading included"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=16, help="images (default 16)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--arch", choices=("tiny", "real"), default="tiny")
    p.add_argument("--face-size", type=int, help="face letterbox side (default: 128 tiny, 320 real)")
    p.add_argument("--repeats", type=int, default=2, help="passes per side; the fastest counts")
    p.add_argument("--ray", action="store_true", help="also run the scorers through Ray Data actor pools")
    p.add_argument("--pool-cpus", type=float, default=1.0, help="CPUs per actor in --ray mode (0.5 on 2 cores)")
    p.add_argument("--threads", type=int, help="torch CPU threads (1 is steadier on a shared machine)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        cfg = write_random_weights(tmp, arch=args.arch, seed=args.seed)
        pools = {f: replace(getattr(cfg, f), batch_size=args.batch_size, num_cpus=args.pool_cpus)
                 for f in ("clip_pool", "watermark_pool", "faces_pool")}
        face_size = args.face_size or (128 if args.arch == "tiny" else 320)
        cfg = replace(cfg, face_size=face_size, use_gpu=torch.cuda.is_available(), **pools)
        images, texts = make_inputs(args.n, args.seed)
        rows = make_rows(cfg, images, texts)
        ops = build_scorers(cfg)
        device = ops[1].device
        plain = PlainLoop(ops, cfg, rows)
        pairs = {"tokens": ([ops[0]], [plain.run_tokens]), "clip": ([ops[1]], [plain.run_clip]),
                 "watermark": ([ops[2]], [plain.run_watermark]), "faces": ([ops[3]], [plain.run_faces]),
                 "all": (ops, [plain.run_tokens, plain.run_clip, plain.run_watermark, plain.run_faces])}
        warm = min(args.batch_size, args.n)
        time_ours(ops, rows[:warm], args.batch_size, device)
        time_plain(pairs["all"][1], warm, args.batch_size, device)

        ours_s, plain_s, same_result = {}, {}, True
        atol = 1e-4 if device.type == "cpu" else 2e-2
        for name, (op_list, fns) in pairs.items():
            best_ours = best_plain = float("inf")
            for _ in range(args.repeats):        # interleaved: drift on a shared machine hits both
                seconds, ours_rows = time_ours(op_list, rows, args.batch_size, device)
                best_ours = min(best_ours, seconds)
                seconds, plain_out = time_plain(fns, args.n, args.batch_size, device)
                best_plain = min(best_plain, seconds)
            same_result &= same(ours_rows, plain_out, atol)
            ours_s[name], plain_s[name] = best_ours, best_plain
        result = {
            "bench": "score",
            "device": (torch.cuda.get_device_name() if device.type == "cuda"
                       else f"cpu ({torch.get_num_threads()} threads)"),
            "dtype": str(amp_dtype(device)).replace("torch.", ""),
            "arch": args.arch,
            "n": args.n,
            "batch_size": args.batch_size,
            "face_size": face_size,
            "same_result": bool(same_result),
            "images_per_s": {
                "ours": {k: round(args.n / v, 2) for k, v in ours_s.items()},
                "plain_torch": {k: round(args.n / v, 2) for k, v in plain_s.items()},
            },
            "ratio_vs_plain_torch": {k: round(plain_s[k] / ours_s[k], 3) for k in ours_s},
        }
        if args.ray:
            result["ray"] = {**run_ray(cfg, rows, args.batch_size), "cpus_per_actor": args.pool_cpus}
    print(json.dumps(result))
    return 0 if same_result else 1


if __name__ == "__main__":
    sys.exit(main())
