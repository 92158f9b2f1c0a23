"""`python -m jobs.run INPUT... --output URL`: the main job, as `ray job submit` runs it.

`ccpairs run` is the same entry point. Exit codes: 0 done, 1 some WARCs failed (re-run to
retry them), 2 a configuration or input error found before any work started.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from jobs.config import STAGES, load_config, parse_override, replace
from operators.config import ConfigError


def build_parser(prog: str = "ccpairs run") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="WARC files → filtered, scored image–text pairs as Parquet.")
    p.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="WARC files or globs, s3://… or https://… URLs, or a Common Crawl warc.paths.gz manifest")
    p.add_argument("--output", "-o", required=True, help="local folder or s3://bucket/prefix")
    p.add_argument("--config", "-c", help="YAML run config (default: configs/local.yaml)")
    p.add_argument("--until", choices=STAGES, help="last stage to run (default from config: score)")
    p.add_argument("--limit-files", type=int, help="only the first N WARC files after expansion")
    p.add_argument("--s3-endpoint-url", help="S3 API endpoint (else AWS_ENDPOINT_URL / AWS config)")
    p.add_argument("--store-images", action="store_true", help="also write the image bytes into the Parquet")
    p.add_argument("--require-scores", action="store_true", help="fail at start-up if any scorer lacks weights")
    p.add_argument("--ray-address", help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config value, e.g. --set text.max_text_frequency=20 (repeatable)")
    p.add_argument("--json", action="store_true", help="print the stats JSON instead of the summary")
    return p


def config_from_args(args: argparse.Namespace):
    cfg = load_config(args.config, [parse_override(o) for o in args.set])
    job = {}
    if args.until:
        job["until"] = args.until
    if args.limit_files is not None:
        job["limit_files"] = args.limit_files
    if args.s3_endpoint_url:
        job["s3_endpoint_url"] = args.s3_endpoint_url
    if args.ray_address:
        job["ray_address"] = args.ray_address
    if job:
        cfg = replace(cfg, "job", **job)  # rebuilds RunConfig, so its validation runs again
    if args.store_images:
        cfg = replace(cfg, "write", store_images=True)
    if args.require_scores:
        cfg = replace(cfg, "score", require_scores=True)
    return cfg


def main(argv: list[str] | None = None, prog: str = "ccpairs run") -> int:
    from jobs.pipeline import run, summary
    from operators.readers import InputError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser(prog).parse_args(argv)
    try:
        cfg = config_from_args(args)
        result = run(args.inputs, args.output, cfg)
    except (ConfigError, InputError) as exc:
        print(f"ccpairs: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.stats, indent=2) if args.json else summary(result.stats))
    return 1 if result.failures else 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m jobs.run"))
