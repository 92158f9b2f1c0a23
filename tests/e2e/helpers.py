"""Shared pieces of the end-to-end tests: the sample, running the CLI, reading the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as pads

REPO = Path(__file__).resolve().parents[2]


def read_output(path: str | Path, filesystem=None):
    """All rows of a ccpairs output (Hive partitions, _ccpairs/ ignored) as a pyarrow Table."""
    dataset = pads.dataset(str(path), format="parquet", partitioning="hive", filesystem=filesystem,
                           exclude_invalid_files=False, ignore_prefixes=["_", "."])
    return dataset.to_table()


def read_stats(output: str | Path) -> dict:
    return json.loads((Path(output) / "_ccpairs" / "stats.json").read_text())


def cli_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}"
    env.pop("RAY_ADDRESS", None)
    return env


def run_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], cwd=REPO, env=cli_env(),
                          capture_output=True, text=True, timeout=timeout)


def assert_reconciles(stats: dict) -> None:
    pairs = stats["pairs"]
    assert pairs["reconciles"], stats
    assert pairs["in"] == pairs["kept"] + pairs["dropped"]
    live = pairs["in"]
    for stage, entry in stats["stages"].items():
        assert entry["in"] == live, (stage, entry)
        assert entry["kept"] == entry["in"] - sum(entry["dropped"].values()), (stage, entry)
        live = entry["kept"]
    assert live == pairs["kept"]
    records = stats["records"]
    assert records["in"] == records["kept"] + sum(records["dropped"].values())
