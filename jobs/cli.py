"""`ccpairs`: one command with subcommands, each backed by a `jobs.<name>` module."""

from __future__ import annotations

import sys

USAGE = """usage: ccpairs COMMAND [ARGS]

commands:
  run             WARC files → pairs → filters → images → dedup → scores → Parquet
  sample          write deterministic sample WARCs (and a warc.paths.gz manifest)
  hash-reference  build a reference pHash table from a folder / tar set / Parquet of images
  models          fetch or check the scorers' model weights

`ccpairs COMMAND --help` for each command's options."""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "run":
        from jobs.run import main as run_main

        return run_main(rest)
    if command == "sample":
        from jobs.sample import main as sample_main

        return sample_main(rest)
    if command == "hash-reference":
        from jobs.hash_reference import main as hash_main

        return hash_main(rest)
    if command == "models":
        from jobs.models import main as models_main

        return models_main(rest)
    print(f"ccpairs: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
