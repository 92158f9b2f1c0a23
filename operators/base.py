"""Contracts every operator shares: declared columns and resources, drop marking, funnel counts.

Operators never import Ray: they take a batch (dict of column name -> numpy array) and return
one, so they are testable on a list of dicts. `jobs/adapter.py` turns their declared
resources into Ray arguments.

Dropping is marking: a dropped row keeps flowing with `drop_stage` / `drop_reason` set (and
its heavy columns cleared), later operators skip it, and the writer counts it instead of
writing it. That is what lets one streaming Dataset produce both the kept rows and a funnel
that reconciles (rows in = kept + sum of dropped per reason) without a second pass.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np

DROP_STAGE = "drop_stage"
DROP_REASON = "drop_reason"
DROP_COLUMNS = (DROP_STAGE, DROP_REASON)

Batch = dict[str, np.ndarray]
Row = dict[str, Any]


# ----------------------------------------------------------------------------- batches


def batch_len(batch: Mapping[str, Any]) -> int:
    for value in batch.values():
        return len(value)
    return 0


def object_array(values: Iterable[Any], n: int | None = None) -> np.ndarray:
    """A 1-D object array that never gets reshaped by numpy (bytes, lists, None)."""
    values = list(values)
    out = np.empty(len(values) if n is None else n, dtype=object)
    out[: len(values)] = values
    return out


def rows_to_batch(rows: list[Row], columns: Iterable[str] | None = None) -> Batch:
    """Build a batch from rows; missing values become None. Strings and bytes stay objects."""
    names: list[str] = list(columns) if columns is not None else []
    if columns is None:
        seen: set[str] = set()
        for row in rows:
            for key in row:
                if key not in seen:
                    seen.add(key)
                    names.append(key)
    return {name: object_array((row.get(name) for row in rows), len(rows)) for name in names}


def batch_to_rows(batch: Mapping[str, np.ndarray]) -> list[Row]:
    names = list(batch)
    n = batch_len(batch)
    cols = [batch[name] for name in names]
    return [{name: _py(col[i]) for name, col in zip(names, cols)} for i in range(n)]


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def ensure_drop_columns(batch: Batch) -> Batch:
    """Object-typed drop columns holding str or None. A column that was null in every row of a
    block reaches numpy batches as float NaN: that is "not dropped", so it becomes None."""
    n = batch_len(batch)
    for name in DROP_COLUMNS:
        if name not in batch:
            batch[name] = object_array([None] * n)
        elif batch[name].dtype != object or any(not isinstance(v, str) and v is not None for v in batch[name]):
            batch[name] = object_array((v if isinstance(v, str) and v else None for v in batch[name]), n)
    return batch


def live_mask(batch: Batch) -> np.ndarray:
    """True for rows no earlier stage dropped (a drop reason is always a non-empty string)."""
    if DROP_REASON not in batch:
        return np.ones(batch_len(batch), dtype=bool)
    reasons = batch[DROP_REASON]
    return np.fromiter((not (isinstance(r, str) and r) for r in reasons), dtype=bool, count=len(reasons))


def mark_dropped(batch: Batch, index: int, stage: str, reason: str) -> None:
    batch[DROP_STAGE][index] = stage
    batch[DROP_REASON][index] = reason


# ----------------------------------------------------------------------------- contracts


@dataclass(frozen=True)
class Resources:
    """What an operator needs from the cluster; the adapter turns it into Ray arguments.

    pool=None runs the operator as stateless tasks; pool=(min, max) runs it as a callable
    class on an actor pool (models load once per actor, an HTTP client keeps its connections).
    calls_per_actor > 1 lets one pooled actor run that many batches at once on threads
    (I/O-bound operators: while one batch waits on its slowest responses, the others go on).
    """

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    batch_size: int | None = 256
    pool: tuple[int, int] | None = None
    calls_per_actor: int = 1
    memory: int = 0  # bytes of RAM per task / actor that Ray should reserve; 0: not declared


class Operator:
    """One step of the data path. Subclasses set the class attributes and implement `process`.

    `process(batch, live)` gets the whole batch and a mask of rows still alive; it returns
    the batch with its `writes` columns filled (for dead rows: None / a neutral value).
    """

    stage: str = "?"
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()

    def resources(self) -> Resources:
        return Resources()

    def process(self, batch: Batch, live: np.ndarray) -> Batch:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, batch: Batch) -> Batch:
        batch = ensure_drop_columns(dict(batch))
        missing = [c for c in self.reads if c not in batch]
        if missing:
            raise KeyError(f"{type(self).__name__} reads missing columns {missing}; has {sorted(batch)}")
        return self.process(batch, live_mask(batch))

    # convenience for tests and local loops: rows in, rows out
    def run_rows(self, rows: list[Row]) -> list[Row]:
        return batch_to_rows(self(rows_to_batch(rows)))


class Filter(Operator):
    """The base does the work, the subclass gives the rule (datatrove's BaseFilter shape).

    A subclass implements `keep(row) -> None | reason`. The base applies it to live rows,
    marks drops with this filter's stage, counts total / kept / dropped per reason and times it.
    """

    name: str = "filter"

    def __init__(self) -> None:
        self.counts = FunnelCounts()
        self.seconds = 0.0

    def keep(self, row: Row) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def process(self, batch: Batch, live: np.ndarray) -> Batch:
        start = time.perf_counter()
        names = [c for c in self.reads]
        cols = [batch[c] for c in names]
        for i in np.flatnonzero(live):
            reason = self.keep({name: _py(col[i]) for name, col in zip(names, cols)})
            self.counts.add_in(self.stage)
            if reason is None:
                continue
            mark_dropped(batch, int(i), self.stage, reason)
            self.counts.add_drop(self.stage, reason)
        self.seconds += time.perf_counter() - start
        return batch


# ----------------------------------------------------------------------------- funnel


@dataclass
class FunnelCounts:
    """rows in per stage and rows dropped per (stage, reason); mergeable and JSON-able."""

    rows_in: Counter = field(default_factory=Counter)
    dropped: dict[str, Counter] = field(default_factory=dict)

    def add_in(self, stage: str, n: int = 1) -> None:
        self.rows_in[stage] += n

    def add_drop(self, stage: str, reason: str, n: int = 1) -> None:
        self.dropped.setdefault(stage, Counter())[reason] += n

    def merge(self, other: "FunnelCounts") -> "FunnelCounts":
        self.rows_in.update(other.rows_in)
        for stage, reasons in other.dropped.items():
            self.dropped.setdefault(stage, Counter()).update(reasons)
        return self

    def to_dict(self, order: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        stages = list(order) if order is not None else []
        for stage in list(self.rows_in) + list(self.dropped):
            if stage not in stages:
                stages.append(stage)
        out: dict[str, dict[str, Any]] = {}
        for stage in stages:
            dropped = dict(sorted(self.dropped.get(stage, Counter()).items()))
            n_in = int(self.rows_in.get(stage, 0))
            out[stage] = {"in": n_in, "kept": n_in - sum(dropped.values()), "dropped": dropped}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]]) -> "FunnelCounts":
        counts = cls()
        for stage, entry in data.items():
            counts.add_in(stage, int(entry.get("in", 0)))
            for reason, n in entry.get("dropped", {}).items():
                counts.add_drop(stage, reason, int(n))
        return counts


# ----------------------------------------------------------------------------- identity


def pair_id(url: str, text: str) -> int:
    """Stable int64 id of a (url, text) pair: the same pair gets the same id in every run."""
    import hashlib

    digest = hashlib.blake2b(f"{url}\x00{text}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
