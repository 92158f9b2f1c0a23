"""HttpFetcher through the lead's Ray adapter: shipped to tasks, columns survive Arrow."""

from __future__ import annotations

import pytest
import ray

from jobs.adapter import apply_operator
from tests.fetch.server import JPEG

pytestmark = pytest.mark.slow


def fetch_in_ray(server, fetcher, blank: dict) -> dict[str, list[dict]]:
    rows = [{"url": server.url(f"/ok.jpg?i={i}"), **blank} for i in range(6)]
    rows += [{"url": server.url("/status/404"), **blank},
             {**blank, "url": server.url("/ok.png"), "fetch_status": "warc", "image_bytes": b"warc-bytes"}]
    by_status: dict[str, list[dict]] = {}
    for row in apply_operator(ray.data.from_items(rows), fetcher).take_all():
        by_status.setdefault(row["fetch_status"], []).append(row)
    return by_status


def test_fetch_stage_in_ray_data(ray_session, fault_server, make_fetcher):
    # image_bytes / fetch_status all null in most blocks: Ray hands those over as float NaN
    by_status = fetch_in_ray(fault_server, make_fetcher(batch_size=3), {"fetch_status": None, "image_bytes": None})
    assert {s: len(r) for s, r in by_status.items()} == {"http_404": 1, "ok": 6, "warc": 1}
    assert all(r["image_bytes"] == JPEG and r["http_status"] == 200 and r["drop_reason"] is None
               for r in by_status["ok"])
    [missing] = by_status["http_404"]
    assert (missing["drop_stage"], missing["drop_reason"], missing["image_bytes"]) == ("fetch", "http_404", None)
    assert by_status["warc"][0]["image_bytes"] == b"warc-bytes"
    assert fault_server.count("/ok.png") == 0


def test_rows_after_a_stage_that_dropped_nothing_are_fetched(ray_session, fault_server, make_fetcher):
    blank = {"fetch_status": None, "image_bytes": None, "drop_stage": None, "drop_reason": None}
    by_status = fetch_in_ray(fault_server, make_fetcher(batch_size=3), blank)
    assert {s: len(r) for s, r in by_status.items()} == {"http_404": 1, "ok": 6, "warc": 1}


def test_fetch_pool_runs_several_batches_at_once_in_one_actor(ray_session, fault_server):
    """The job's fetch stage: one threaded actor, one-URL batches. The server sees several
    requests at once only if the actor runs batches concurrently (4 = batches_per_actor)."""
    import dataclasses

    from jobs.adapter import apply_pool
    from operators.fetch.http import HttpFetcher
    from tests.fetch.conftest import FAST

    cfg = dataclasses.replace(FAST, batch_size=1, min_actors=1, max_actors=1, batches_per_actor=4)
    res = HttpFetcher(cfg).resources()
    assert (res.pool, res.calls_per_actor, res.batch_size) == ((1, 1), 4, 1)
    rows = [{"url": fault_server.url(f"/ok.jpg?delay=0.5&v={i}"), "fetch_status": None, "image_bytes": None}
            for i in range(12)]
    out = apply_pool(ray.data.from_items(rows, override_num_blocks=12), HttpFetcher, res, {"cfg": cfg}).take_all()
    assert sorted(r["fetch_status"] for r in out) == ["ok"] * 12
    assert all(r["image_bytes"] == JPEG for r in out)
    assert fault_server.count("/ok.jpg") == 12
    assert 2 <= fault_server.peak_in_flight() <= 4


def test_threaded_fetch_pool_can_grow_past_min_actors():
    """Ray grows an actor pool only while tasks in flight / (actors x calls per actor) reaches
    DataContext.actor_pool_util_upscaling_threshold (175 %). Capping tasks in flight per actor
    at the calls per actor (100 %) pinned the fetch pool to min_actors for the whole run."""
    from ray.data import ActorPoolStrategy, DataContext

    from jobs.adapter import apply_pool
    from operators.base import Resources
    from operators.fetch.http import HttpFetcher

    res = Resources(num_cpus=0.1, batch_size=8, pool=(1, 4), calls_per_actor=4)
    ds = apply_pool(ray.data.range(8), HttpFetcher, res, {"cfg": None})  # lazy: nothing runs
    strategy = ds._logical_plan.dag.compute
    assert isinstance(strategy, ActorPoolStrategy)
    assert (strategy.min_size, strategy.max_size, strategy.max_concurrent_calls_per_actor) == (1, 4, 4)
    # Ray's own rule when the strategy leaves it unset: twice the actor's concurrency
    in_flight = strategy.max_tasks_in_flight_per_actor or 2 * strategy.max_concurrent_calls_per_actor
    threshold = DataContext.get_current().autoscaling_config.actor_pool_util_upscaling_threshold
    assert in_flight / strategy.max_concurrent_calls_per_actor >= threshold


def test_fetch_decoder_pool_declares_its_memory():
    """Fetch actors import torch and hold the bodies in flight (1.2-1.3 GiB in the sample job):
    the pool asks Ray for that memory, so a node never gets more of them than fit."""
    from jobs.adapter import apply_pool
    from operators.fetch.streaming import ACTOR_MEMORY, FetchDecoder
    from operators.images import ImageConfig
    from tests.fetch.conftest import FAST

    kwargs = {"fetch": FAST, "image": ImageConfig()}
    res = FetchDecoder(**kwargs).resources()
    assert (res.memory, res.num_cpus, res.calls_per_actor) == (ACTOR_MEMORY, FAST.actor_cpus, FAST.batches_per_actor)
    assert ACTOR_MEMORY >= 1.5 * 1024**3
    ds = apply_pool(ray.data.range(8), FetchDecoder, res, kwargs)
    assert ds._logical_plan.dag.ray_remote_args["memory"] == ACTOR_MEMORY
