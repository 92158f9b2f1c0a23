"""Fixtures for fetch tests: a loopback fault server and fetchers with test-sized timeouts."""

from __future__ import annotations

import dataclasses

import pytest

from operators.fetch.config import FetchConfig
from operators.fetch.http import HttpFetcher
from tests.fetch.server import FaultServer

# Short waits so failure paths resolve fast; timeouts generous enough for a loaded CI machine
# (tests of the timeouts themselves set small ones).
FAST = FetchConfig(
    connect_timeout=2.0,
    read_timeout=2.0,
    total_timeout=5.0,
    retries=2,
    backoff=0.02,
    max_retry_after=2.0,
    allow_private_networks=True,  # the test server is on loopback; guard tests turn this off
)


@pytest.fixture
def fault_server():
    """The fault server on 127.0.0.1 and, where the OS allows it, 127.0.0.2 (a second host)."""
    try:
        server = FaultServer(("127.0.0.1", "127.0.0.2"))
        server.start()
    except OSError:
        server = FaultServer(("127.0.0.1",))
        server.start()
    yield server
    server.stop()


@pytest.fixture
def make_fetcher():
    """make_fetcher(**FetchConfig overrides, getaddrinfo=None) -> HttpFetcher; closed afterwards."""
    made: list[HttpFetcher] = []

    def make(getaddrinfo=None, **overrides) -> HttpFetcher:
        fetcher = HttpFetcher(dataclasses.replace(FAST, **overrides), getaddrinfo=getaddrinfo)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()
