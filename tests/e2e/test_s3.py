"""WARCs read from and Parquet written to a real S3 API (moto's server on loopback) via s3fs."""

from __future__ import annotations

import os
import socket

import duckdb
import pytest
import ray
import s3fs

from jobs.config import load_config, replace
from jobs.pipeline import run
from jobs.sample import generate_sample
from tests.e2e.helpers import assert_reconciles, read_output

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)  # workers inherit the env above
    yield f"http://127.0.0.1:{port}"
    ray.shutdown()
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_s3_in_s3_out_and_duckdb_reads_it(s3_endpoint, tmp_path):
    fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": s3_endpoint})
    fs.mkdir("e2e-warcs")
    fs.mkdir("e2e-dataset")
    sample = generate_sample(tmp_path / "sample", pages=60, seed=5, files=2)
    for path in sample.warc_paths:
        fs.put(str(path), f"e2e-warcs/cc/{os.path.basename(path)}")

    cfg = replace(load_config(), "job", until="text", s3_endpoint_url=s3_endpoint)
    result = run(["s3://e2e-warcs/cc/*.warc.gz"], "s3://e2e-dataset/coyo-like", cfg)
    assert result.stats["inputs"]["warcs"] == 2
    assert_reconciles(result.stats)
    assert fs.exists("e2e-dataset/coyo-like/_ccpairs/stats.json")
    assert fs.exists("e2e-dataset/coyo-like/_ccpairs/config.yaml")
    files = fs.glob("e2e-dataset/coyo-like/crawl=*/*.parquet")
    assert files

    table = read_output("e2e-dataset/coyo-like", filesystem=fs)
    assert table.num_rows == result.stats["pairs"]["kept"] > 0

    con = duckdb.connect()
    con.register_filesystem(fs)
    n, crawls = con.execute(
        "select count(*), count(distinct crawl) from read_parquet('s3://e2e-dataset/coyo-like/**/*.parquet', hive_partitioning=true)"
    ).fetchone()
    assert n == table.num_rows and crawls == 1
