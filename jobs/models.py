"""`ccpairs models check|fetch`: what each scorer would load and from where, and a way to get
every default weight file onto an offline cluster (fetch on an online machine, copy the folder).

Exit codes: 0 every enabled scorer has weights, 1 some have not (or a download failed),
2 a configuration error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, replace

from operators.config import ConfigError


def build_parser(prog: str = "ccpairs models") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="Check or fetch the scorers' model weights.")
    sub = p.add_subparsers(dest="action", required=True)
    check = sub.add_parser("check", help="per scorer: architecture, weights source, the file it would load or why not")
    check.add_argument("--load", action="store_true", help="also load every model (slow; proves the files are usable)")
    check.add_argument("--json", action="store_true", help="print the statuses as JSON")
    fetch = sub.add_parser("fetch", help="download every enabled url / open_clip-tag weight file into DIR")
    fetch.add_argument("--to", required=True, metavar="DIR",
                       help="target folder; afterwards use it offline with --set score.cache_dir=DIR")
    for command in (check, fetch):
        command.add_argument("--config", "-c", help="YAML run config (default: configs/local.yaml)")
        command.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                             help="override one config value, e.g. --set score.cache_dir=/models (repeatable)")
    return p


def main(argv: list[str] | None = None, prog: str = "ccpairs models") -> int:
    from jobs.config import load_config, parse_override
    from operators.scorers.registry import check_models, fetch_models

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser(prog).parse_args(argv)
    try:
        score = replace(load_config(args.config, [parse_override(o) for o in args.set]).score, require_scores=False)
    except ConfigError as exc:
        print(f"ccpairs models: error: {exc}", file=sys.stderr)
        return 2
    if args.action == "fetch":
        statuses = fetch_models(score, args.to, progress=lambda msg: print(f"[models] {msg}", file=sys.stderr))
        print(f"fetched into {args.to}; use it with --set score.cache_dir={args.to}")
    else:
        statuses = check_models(score)
        if args.load:
            statuses = _with_load_failures(score, statuses)
    if getattr(args, "json", False):
        print(json.dumps([asdict(s) for s in statuses], indent=2))
    else:
        print("\n".join(s.line() for s in statuses) or "no scorer enabled")
    return 0 if all(s.available for s in statuses) else 1


def _with_load_failures(score, statuses):
    """Load every scorer for real; a model that fails to load is reported unavailable."""
    from operators.scorers import build_scorers

    failed: dict[str, str] = {}
    for op in build_scorers(score):
        failed.update(getattr(op, "unavailable", {}))
    return [replace(s, available=False, action="", path="", reason=failed[s.name]) if s.name in failed and s.available
            else s for s in statuses]


if __name__ == "__main__":
    sys.exit(main(prog="python -m jobs.models"))
