"""The one place where an operator's declared resources become Ray Data arguments."""

from __future__ import annotations

from typing import Any

import ray.data
from ray.data import ActorPoolStrategy

from operators.base import Operator, Resources


def apply_operator(ds: ray.data.Dataset, op: Operator) -> ray.data.Dataset:
    """Stateless operator as Ray tasks (the instance is shipped to each task)."""
    res = op.resources()
    return ds.map_batches(
        op,
        batch_size=res.batch_size,
        batch_format="numpy",
        zero_copy_batch=False,
        num_cpus=res.num_cpus,
        **({"memory": res.memory} if res.memory else {}),
    )


def apply_pool(
    ds: ray.data.Dataset,
    cls: type,
    resources: Resources,
    kwargs: dict[str, Any] | None = None,
) -> ray.data.Dataset:
    """Stateful operator (a model, an HTTP client) as a callable class on an actor pool: built
    once per actor. `resources.calls_per_actor` > 1 makes the actors threaded (Ray Data 2.60's
    max_concurrent_calls_per_actor with enable_true_multi_threading)."""
    lo, hi = resources.pool or (1, 1)
    calls = resources.calls_per_actor
    # max_tasks_in_flight_per_actor stays Ray's default (2 x calls): the autoscaler grows a pool
    # only past 175 % utilisation (queued / (actors x calls)), so capping queued tasks at `calls`
    # (100 %) pinned a threaded pool to min_size for the whole run
    threaded = dict(max_concurrent_calls_per_actor=calls, enable_true_multi_threading=True) if calls > 1 else {}
    args: dict[str, Any] = dict(
        fn_constructor_kwargs=kwargs or {},
        compute=ActorPoolStrategy(min_size=lo, max_size=hi, **threaded),
        batch_size=resources.batch_size,
        batch_format="numpy",
        zero_copy_batch=False,
        num_cpus=resources.num_cpus,
    )
    if resources.num_gpus:
        args["num_gpus"] = resources.num_gpus
    if resources.memory:
        args["memory"] = resources.memory
    return ds.map_batches(cls, **args)
