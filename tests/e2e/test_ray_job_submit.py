"""`ray job submit` against a real local Ray head on loopback runs the same job."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from jobs.sample import generate_sample
from tests.e2e.helpers import REPO, assert_reconciles, read_output, read_stats

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray(*args, env, timeout=300):
    return subprocess.run([str(BIN / "ray"), *args], env=env, capture_output=True, text=True, timeout=timeout)


def test_ray_job_submit_runs_the_sample_job(tmp_path):
    sample = generate_sample(tmp_path / "sample", pages=60, seed=11, files=2)
    out = tmp_path / "out"
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"  # the job's `python` is this environment's
    env.pop("RAY_ADDRESS", None)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    env["RAY_AUTH_MODE"] = "token"  # the secure default: the head and the CLI share ~/.ray/auth_token
    gcs_port, dash_port = _free_port(), _free_port()
    temp_dir = tempfile.mkdtemp(prefix="rj", dir="/tmp")  # AF_UNIX socket paths must stay < 108 bytes
    started = _ray("start", "--head", f"--port={gcs_port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
                   "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash_port}",
                   "--disable-usage-stats", f"--temp-dir={temp_dir}", env=env)
    assert started.returncode == 0, started.stderr[-3000:]
    try:
        # The head's job agent comes up a little after `ray start` returns: retry while it says so.
        for _ in range(30):
            submitted = _ray("job", "submit", f"--address=http://127.0.0.1:{dash_port}", "--working-dir",
                             str(REPO), "--runtime-env", str(REPO / "cluster" / "runtime_env.yaml"), "--",
                             "python", "-m", "jobs.run", str(sample.manifest_path), "--output", str(out),
                             "--until", "text", env=env, timeout=600)
            if "No available agent" not in submitted.stderr + submitted.stdout:
                break
            time.sleep(2)
        assert submitted.returncode == 0, (submitted.stdout[-3000:], submitted.stderr[-3000:])
        assert "succeeded" in submitted.stdout.lower()
    finally:
        _ray("stop", "--force", env=env, timeout=120)
        shutil.rmtree(temp_dir, ignore_errors=True)
    stats = read_stats(out)
    assert_reconciles(stats)
    table = read_output(out)
    assert table.num_rows == stats["pairs"]["kept"] > 0
    assert stats["inputs"]["warcs"] == 2
