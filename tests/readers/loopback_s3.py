"""A moto S3 server on loopback and the s3fs storage_options that reach it, for tests."""

from __future__ import annotations

import contextlib
import socket
from typing import Iterator


@contextlib.contextmanager
def loopback_s3(bucket: str) -> Iterator[dict]:
    """Start moto on a free loopback port, create `bucket`, yield storage_options."""
    from moto.server import ThreadedMotoServer
    import s3fs

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # eu-west-1: s3fs sends a LocationConstraint, which S3 (and moto) refuse for us-east-1
    options = {"key": "testing", "secret": "testing",
               "client_kwargs": {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "eu-west-1"}}
    try:
        # moto keeps its buckets per process: another test may have made this one already
        s3fs.S3FileSystem(**options).makedirs(bucket, exist_ok=True)
        yield options
    finally:
        server.stop()
