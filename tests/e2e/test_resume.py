"""Kill the driver mid-run, re-run the same command: exactly the rows of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from jobs.sample import generate_sample
from tests.e2e.helpers import REPO, assert_reconciles, cli_env, read_output, read_stats, run_cli

pytestmark = pytest.mark.slow


def _done_markers(out) -> int:
    folder = out / "_ccpairs" / "staging" / "done"
    return len([p for p in folder.glob("*.json")]) if folder.exists() else 0


def test_killed_run_resumes_to_identical_rows(tmp_path):
    sample = generate_sample(tmp_path / "sample", pages=240, seed=3, files=6)
    args = [str(sample.manifest_path), "--until", "text", "--set", "job.num_cpus=2"]

    reference = tmp_path / "reference"
    proc = run_cli("run", *args, "--output", str(reference))
    assert proc.returncode == 0, proc.stderr[-3000:]

    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "jobs.cli", "run", *args, "--output", str(out)],
                              cwd=REPO, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    deadline = time.time() + 300
    while _done_markers(out) < 1 and driver.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    killed_with = _done_markers(out)
    assert driver.poll() is None, "run finished before it could be killed: make the sample bigger"
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait(timeout=60)
    assert 1 <= killed_with < len(sample.warc_paths)
    assert not (out / "_ccpairs" / "_SUCCESS").exists()

    proc = run_cli("run", *args, "--output", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    stats = read_stats(out)
    assert stats["inputs"]["skipped_already_staged"] >= killed_with
    assert stats["inputs"]["staged_this_run"] == len(sample.warc_paths) - stats["inputs"]["skipped_already_staged"]
    assert_reconciles(stats)

    expected = read_output(reference)
    got = read_output(out)
    key = lambda t: sorted(zip(t.column("id").to_pylist(), t.column("text").to_pylist()))  # noqa: E731
    assert got.num_rows == expected.num_rows > 0
    assert key(got) == key(expected)
    assert stats["pairs"] == read_stats(reference)["pairs"]
