"""The ccpairs job: WARC files → staged pairs (per WARC, resumable) → global stages → Parquet.

Phase 1 runs one Ray task per input WARC: stream its records, extract pairs, apply the
row-local text rules, stage pairs and image records as Parquet, and commit with a done-marker.
Phase 2 is one streaming Dataset over everything staged: the global text-frequency rule, the
WARC image join, HTTP fetch, image checks, dedup and scoring, written by the counting sink.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import ray
import ray.data

from jobs.adapter import apply_operator, apply_pool
from jobs.config import STAGES, RunConfig, dump_config
from operators.base import FunnelCounts, pair_id
from operators.config import ConfigError, to_dict
from operators.writers import storage
from operators.writers.parquet import CountingParquetSink
from operators.writers.staging import StagingArea, warc_id

log = logging.getLogger("ccpairs")

PAIR_STAGES = STAGES[1:]  # the stages whose unit is a pair (extract counts WARC records)


class OutputError(ConfigError):
    """The output location cannot be used (not ours, not writable)."""


# ----------------------------------------------------------------------------- phase 1


def stage_fingerprint(cfg: RunConfig) -> str:
    """What phase 1 depends on: a done-marker made under other settings is not reused."""
    relevant = {"extract": to_dict(cfg.extract), "text": to_dict(cfg.text) if cfg.runs("text") else None,
                "images": cfg.runs("fetch")}
    return hashlib.sha1(repr(relevant).encode()).hexdigest()[:16]


class WarcStager:
    """Phase-1 task body: one WARC in, its staged files and done-marker out, a stats row back."""

    def __init__(self, cfg: RunConfig, output: str, storage_options: dict[str, Any], fingerprint: str) -> None:
        self.cfg = cfg
        self.output = output
        self.storage_options = storage_options
        self.fingerprint = fingerprint
        self._filters = None  # built on first use, in the worker, once per stager

    def text_filters(self) -> list:
        from operators.filters import build_text_filters

        if self._filters is None:
            self._filters = build_text_filters(self.cfg.text) if self.cfg.runs("text") else []
        return self._filters

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        results = [self.stage(str(path)) for path in batch["path"]]
        return {"path": [r["path"] for r in results], "ok": [r["ok"] for r in results],
                "pairs": [r["pairs"] for r in results], "error": [r["error"] for r in results]}

    def stage(self, path: str) -> dict[str, Any]:
        from operators.extract import iter_warc

        cfg = self.cfg
        start = time.perf_counter()
        area = StagingArea(self.output, self.storage_options)
        wid = warc_id(path)
        counts = FunnelCounts()
        filters = self.text_filters()
        keep_images = cfg.runs("fetch") and cfg.extract.keep_image_records
        writer = area.writer(wid)
        pairs_in = 0
        try:
            for kind, row in iter_warc(path, cfg.extract, counts, storage_options_for_input(path, cfg)):
                if kind == "image":
                    if keep_images:
                        writer.add("images", row)
                    continue
                pairs_in += 1
                reason = None
                if filters:
                    counts.add_in("text")
                    for rule in filters:
                        reason = rule.keep(row)
                        if reason is not None:
                            counts.add_drop("text", reason)
                            break
                if reason is None:
                    writer.add("pairs", dict(row, id=pair_id(row["url"], row["text"])))
            io_errors = counts.dropped.get("extract", {}).get("io_error", 0)
            if io_errors:
                raise OSError(f"{io_errors} read error(s) after retries; the file was not read to the end")
            writer.commit({
                "path": path, "warc_id": wid, "fingerprint": self.fingerprint,
                "pairs_extracted": pairs_in, "counts": counts.to_dict(),
                "seconds": round(time.perf_counter() - start, 3),
            })
        except Exception as exc:  # one WARC must never sink the run: no marker, retried next run
            writer.abort()
            log.exception("WARC %s failed; it has no done-marker and will be retried on re-run", path)
            return {"path": path, "ok": False, "pairs": pairs_in, "error": f"{type(exc).__name__}: {exc}"}
        return {"path": path, "ok": True, "pairs": writer.rows["pairs"], "error": ""}


def storage_options_for_input(path: str, cfg: RunConfig) -> dict[str, Any]:
    return storage.storage_options_for(path, cfg.job.s3_endpoint_url)


def run_phase1(paths: list[str], cfg: RunConfig, output: str, storage_options: dict[str, Any],
               area: StagingArea, fingerprint: str, progress) -> list[dict[str, Any]]:
    """Stage every WARC without a matching done-marker; returns the failures."""
    if not paths:
        return []
    ds = ray.data.from_items([{"path": p} for p in paths], override_num_blocks=len(paths))
    ds = ds.map_batches(WarcStager(cfg, output, storage_options, fingerprint), batch_size=1, num_cpus=1)
    failures = []
    for i, row in enumerate(ds.iter_rows(), 1):
        if not row["ok"]:
            failures.append({"path": row["path"], "error": row["error"]})
        progress(f"staged {i}/{len(paths)} WARCs ({row['path'].rsplit('/', 1)[-1]}: "
                 f"{row['pairs']} pairs{'' if row['ok'] else ', FAILED: ' + row['error']})")
    return failures


# ----------------------------------------------------------------------------- phase 2


def build_phase2(cfg: RunConfig, area: StagingArea, done: list[str], image_rows: int) -> ray.data.Dataset:
    """The global, streaming part of the data path over the staged pairs of `done` WARCs."""
    parts = cfg.job.shuffle_partitions
    pair_files = [area.url(area.pairs_path(w)) for w in done]
    fs = storage.arrow_filesystem(area.fs)
    ds = ray.data.read_parquet(pair_files, filesystem=fs, file_extensions=["pq"])

    if cfg.runs("text"):
        from operators.filters import mark_frequent_texts

        ds = mark_frequent_texts(ds, cfg.text.max_text_frequency, num_partitions=parts)
    if cfg.runs("image"):
        thumbs = _thumbnailers(cfg) if cfg.runs("score") and cfg.score.enabled else None
        image_cfg = dataclasses.replace(cfg.image, keep_bytes=cfg.write.store_images)  # one switch: --store-images
    if cfg.runs("fetch"):
        ds = _join_warc_images(ds, cfg, area, done, image_rows, fs)
    if cfg.runs("image") and cfg.fetch.enabled:
        # one actor pool for both stages: each image is decoded as its download ends
        from operators.fetch.streaming import FetchDecoder

        kwargs = {"fetch": cfg.fetch, "image": image_cfg, "thumbnailers": thumbs}
        ds = apply_pool(ds, FetchDecoder, FetchDecoder(**kwargs).resources(), kwargs)
    elif cfg.runs("fetch") and cfg.fetch.enabled:  # --until fetch
        from operators.fetch import HttpFetcher

        ds = apply_pool(ds, HttpFetcher, HttpFetcher(cfg.fetch).resources(), {"cfg": cfg.fetch})
    elif cfg.runs("image"):  # fetch.enabled false: the WARCs' images only
        from operators.images import ImageDecoder

        ds = apply_operator(ds, ImageDecoder(image_cfg, thumbnailers=thumbs))
    if cfg.runs("dedup"):
        from operators.dedup import mark_pair_duplicates, mark_reference_duplicates

        if cfg.dedup.reference_tables:
            ds = mark_reference_duplicates(ds, cfg.dedup, storage_options=area.storage_options)
        if cfg.dedup.pair_dedup:
            ds = mark_pair_duplicates(ds, cfg.dedup)
    if cfg.runs("score"):
        ds = _score(ds, cfg)
    return ds


def _join_warc_images(ds, cfg: RunConfig, area: StagingArea, done: list[str], image_rows: int, fs) -> ray.data.Dataset:
    from operators.fetch.warc_join import join_warc_images

    if not image_rows:
        return ds
    image_files = [area.url(area.images_path(w)) for w in done]
    images = ray.data.read_parquet(image_files, filesystem=fs, file_extensions=["pq"])
    return join_warc_images(ds, images, num_partitions=cfg.job.shuffle_partitions)


def _thumbnailers(cfg: RunConfig):
    from operators.scorers.prepare import thumbnailers

    return thumbnailers(cfg.score)


def _score(ds, cfg: RunConfig) -> ray.data.Dataset:
    from operators.scorers import build_scorer_specs

    for spec in build_scorer_specs(cfg.score):
        if spec.resources.pool:
            ds = apply_pool(ds, spec.cls, spec.resources, spec.kwargs)
        else:
            ds = apply_operator(ds, spec.cls(**spec.kwargs))
    return ds


# ----------------------------------------------------------------------------- driver


@dataclass
class RunResult:
    output: str
    stats: dict[str, Any]
    failures: list[dict[str, Any]] = field(default_factory=list)


def prepare_output(output: str, storage_options: dict[str, Any]) -> tuple[Any, str]:
    """Refuse to write into a non-empty folder that is not a ccpairs output."""
    fs, root = storage.resolve(output, storage_options)
    if fs.exists(root):
        if fs.ls(root, detail=False) and not fs.exists(storage.join(root, "_ccpairs")):
            raise OutputError(f"output {output} exists, is not empty and is not a ccpairs output "
                              f"(no _ccpairs/ inside): choose an empty or new location")
    fs.makedirs(storage.join(root, "_ccpairs"), exist_ok=True)
    return fs, root


def clear_previous_data(fs, root: str) -> None:
    """Remove data files of an earlier phase-2 write so a re-run never duplicates rows."""
    for entry in fs.ls(root, detail=False):
        if entry.rstrip("/").rsplit("/", 1)[-1] == "_ccpairs":
            continue
        fs.rm(entry, recursive=True)
    fs.invalidate_cache()


def init_ray(cfg: RunConfig) -> None:
    if ray.is_initialized():
        return
    address = cfg.job.ray_address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=True)
    else:
        # Local mode has no metrics backend; its stats thread has crashed join workers on exit here.
        ray.init(num_cpus=cfg.job.num_cpus, include_dashboard=False, log_to_driver=True,
                 _system_config={"enable_metrics_collection": False})
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = sys.stderr.isatty()


def run(inputs: list[str], output: str, cfg: RunConfig, progress=None) -> RunResult:
    """Run the job end to end; returns the stats that are also saved to _ccpairs/stats.json."""
    from operators.readers import expand_inputs

    start = time.time()
    progress = progress or (lambda msg: print(f"[ccpairs] {msg}", file=sys.stderr, flush=True))
    storage_options = storage.storage_options_for(output, cfg.job.s3_endpoint_url)
    # options are per scheme: take them from an s3 input if any, wherever it stands in the list
    s3_input = next((i for i in inputs if i.startswith(("s3://", "s3a://"))), "")
    input_options = storage.storage_options_for(s3_input, cfg.job.s3_endpoint_url)
    paths = expand_inputs(list(inputs), limit_files=cfg.job.limit_files, storage_options=input_options,
                          manifest_prefix=cfg.job.manifest_prefix)
    unavailable = check_scorers(cfg)
    fs, root = prepare_output(output, storage_options)
    storage.write_text(fs, storage.join(root, "_ccpairs", "config.yaml"), dump_config(cfg))
    if fs.exists(storage.join(root, "_ccpairs", "_SUCCESS")):
        fs.rm(storage.join(root, "_ccpairs", "_SUCCESS"))

    init_ray(cfg)
    area = StagingArea(output, storage_options)
    fingerprint = stage_fingerprint(cfg)
    markers = {p: area.read_marker(warc_id(p)) for p in paths}
    todo = [p for p in paths if not markers[p] or markers[p].get("fingerprint") != fingerprint]
    progress(f"{len(paths)} input WARC(s): {len(paths) - len(todo)} already staged, {len(todo)} to stage")
    failures = run_phase1(todo, cfg, output, storage_options, area, fingerprint, progress)
    markers = {p: area.read_marker(warc_id(p)) for p in paths}
    done = [p for p in paths if markers[p] and markers[p].get("fingerprint") == fingerprint]

    phase1 = FunnelCounts()
    pairs_extracted = image_rows = 0
    for p in done:
        phase1.merge(FunnelCounts.from_dict(markers[p]["counts"]))
        pairs_extracted += markers[p]["pairs_extracted"]
        image_rows += markers[p]["rows"]["images"]

    clear_previous_data(fs, root)
    sink_result = {"kept": 0, "dropped": {}, "files": []}
    if done:
        progress(f"phase 2: global stages up to '{cfg.job.until}' over {len(done)} WARC(s)")
        ds = build_phase2(cfg, area, [warc_id(p) for p in done], image_rows)
        sink = CountingParquetSink(output, storage_options, cfg.write.partition_cols, cfg.write.min_rows_per_file,
                                   cfg.write.max_rows_per_file, cfg.write.store_images, cfg.write.compression)
        ds.write_datasink(sink)
        sink_result = sink.result or sink_result

    stats = build_stats(cfg, paths, todo, done, failures, phase1, pairs_extracted, sink_result, unavailable,
                        time.time() - start, output)
    storage.write_json(fs, storage.join(root, "_ccpairs", "stats.json"), stats)
    if not failures:
        storage.write_text(fs, storage.join(root, "_ccpairs", "_SUCCESS"), "")
    return RunResult(output=output, stats=stats, failures=failures)


def check_scorers(cfg: RunConfig) -> dict[str, str]:
    """Which scorers cannot load their weights; with require_scores that is fatal, up front."""
    if not cfg.runs("score") or not cfg.score.enabled:
        return {}
    from operators.scorers import unavailable_scorers

    missing = unavailable_scorers(cfg.score)
    if missing and cfg.score.require_scores:
        lines = "\n".join(f"  - {name}: {why}" for name, why in missing.items())
        raise ConfigError(f"--require-scores: {len(missing)} scorer(s) cannot load weights:\n{lines}\n"
                          f"Provide the files (see `ccpairs models fetch --to DIR` on an online machine, "
                          f"then set score.<model>.weights or score.cache_dir) or disable the scorer.")
    return missing


def build_stats(cfg: RunConfig, paths, todo, done, failures, phase1: FunnelCounts, pairs_extracted: int,
                sink_result: dict[str, Any], unavailable: dict[str, str], seconds: float, output: str) -> dict[str, Any]:
    """The funnel: WARC records through extract, then pairs through every later stage."""
    funnel = phase1.to_dict(order=("extract",))
    records = funnel.pop("extract", {"in": 0, "kept": 0, "dropped": {}})
    text_phase1 = funnel.pop("text", None)
    stages: dict[str, dict[str, Any]] = {}
    live = pairs_extracted
    for stage in PAIR_STAGES:
        if not cfg.runs(stage):
            continue
        dropped = dict(sink_result["dropped"].get(stage, {}))
        if stage == "text" and text_phase1:
            for reason, n in text_phase1["dropped"].items():
                dropped[reason] = dropped.get(reason, 0) + n
        total = sum(dropped.values())
        stages[stage] = {"in": live, "kept": live - total, "dropped": dict(sorted(dropped.items()))}
        live -= total
    dropped_pairs = sum(sum(s["dropped"].values()) for s in stages.values())
    unknown = {s: r for s, r in sink_result["dropped"].items() if s not in stages}
    return {
        "output": output,
        "until": cfg.job.until,
        "wall_seconds": round(seconds, 2),
        "inputs": {"warcs": len(paths), "staged_this_run": len(todo) - len(failures),
                   "skipped_already_staged": len(paths) - len(todo), "failed": failures},
        "records": records,
        "pairs": {"in": pairs_extracted, "kept": sink_result["kept"], "dropped": dropped_pairs,
                  "reconciles": pairs_extracted == sink_result["kept"] + dropped_pairs and not unknown},
        "stages": stages,
        "unattributed_drops": unknown,
        "scorers_unavailable": unavailable,
        "files": len(sink_result["files"]),
    }


def summary(stats: dict[str, Any]) -> str:
    """The short human summary printed at the end of `ccpairs run`."""
    lines = [
        f"ccpairs: {stats['pairs']['in']} pairs in, {stats['pairs']['kept']} kept, "
        f"{stats['pairs']['dropped']} dropped  ({stats['wall_seconds']} s, until={stats['until']})",
        f"  WARCs: {stats['inputs']['warcs']} ({stats['inputs']['skipped_already_staged']} already staged, "
        f"{len(stats['inputs']['failed'])} failed); records {stats['records']['in']} read, "
        f"{stats['records']['kept']} HTML pages with pairs",
    ]
    for stage, entry in stats["stages"].items():
        reasons = ", ".join(f"{r}={n}" for r, n in entry["dropped"].items()) or "-"
        lines.append(f"  {stage:<6} in {entry['in']:>8}  kept {entry['kept']:>8}  dropped: {reasons}")
    unavailable = stats.get("scorers_unavailable", {})
    if unavailable:
        first = next(iter(unavailable.values())).split(" (", 1)[0]
        lines.append(f"  scorers without weights, their columns are null: {', '.join(unavailable)}")
        lines.append(f"    e.g. {first}; reasons in stats.json, fix with `ccpairs models check`")
    lines.append(f"  output: {stats['output']}  ({stats['files']} Parquet files; stats in _ccpairs/stats.json)")
    if not stats["pairs"]["reconciles"]:
        lines.append("  WARNING: funnel does not reconcile (in != kept + dropped)")
    return "\n".join(lines)
