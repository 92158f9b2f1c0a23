"""`ccpairs hash-reference`: build one reference pHash table (image_phash, name, source_id) that
the dedup stage's `reference_tables` then lists. Runs on local Ray or the cluster in RAY_ADDRESS."""

from __future__ import annotations

import argparse
import json
import os
import sys

from operators.config import ConfigError
from operators.writers.storage import storage_options_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ccpairs hash-reference",
        description="Hash a public dataset's images into a reference table for the dedup stage.",
    )
    parser.add_argument("--images", required=True, help="folder of images (recursive), WebDataset *.tar set, "
                        "or Parquet with an image column; a path, glob or s3:// URL")
    parser.add_argument("--name", required=True, help="dataset name stored in every row, e.g. imagenet")
    parser.add_argument("--output", required=True, help="Parquet folder to write (replaced if present)")
    parser.add_argument("--s3-endpoint-url",
                        help="S3 endpoint for s3:// URLs (default: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)")
    args = parser.parse_args(argv)

    import ray

    from operators.dedup import hash_reference

    storage_options = storage_options_for(args.output, args.s3_endpoint_url) or storage_options_for(
        args.images, args.s3_endpoint_url
    )
    address = os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, ignore_reinit_error=True)
    else:
        ray.init(include_dashboard=False, ignore_reinit_error=True)
    try:
        stats = hash_reference(args.images, args.name, args.output, storage_options)
    except ConfigError as exc:
        print(f"ccpairs hash-reference: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(stats, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
