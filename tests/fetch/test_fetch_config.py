"""FetchConfig from YAML-like dicts, and the values it refuses."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from operators.config import ConfigError, from_dict
from operators.fetch.config import FetchConfig
from operators.fetch.http import http_reason, parse_retry_after


def test_from_dict_with_overrides():
    cfg = from_dict(FetchConfig, {"concurrency": "32", "allowed_networks": "10.0.0.0/8, fd00::/8",
                                  "allow_private_networks": "false"})
    assert cfg.concurrency == 32
    assert cfg.allowed_networks == ("10.0.0.0/8", "fd00::/8")
    assert cfg.allow_private_networks is False and cfg.respect_opt_outs is True


@pytest.mark.parametrize("bad", [{"concurrency": 0}, {"per_host_concurrency": 0}, {"retries": -1},
                                 {"read_timeout": 0}, {"max_bytes": 0}, {"user_agent": " "},
                                 {"allowed_networks": ["not-a-network"]}, {"unknown_key": 1},
                                 {"min_actors": 0}, {"min_actors": 5, "max_actors": 4}, {"batches_per_actor": 0},
                                 {"actor_cpus": 0}])
def test_bad_values_are_config_errors(bad):
    with pytest.raises(ConfigError):
        from_dict(FetchConfig, bad)


def test_retry_after_forms():
    now = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Sun, 22 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_http_reasons():
    assert [http_reason(c) for c in (404, 403, 410, 429, 418, 500, 503, 300)] == [
        "http_404", "http_403", "http_410", "http_429", "http_4xx", "http_5xx", "http_5xx", "http_3xx"]
