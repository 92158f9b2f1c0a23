"""Filters whose model is rebuilt in each process instead of pickled: Ray ships operators to
workers by pickling, and a CLD3 detector cannot be pickled while a tagger table is megabytes."""

from __future__ import annotations

from typing import Any

from operators.base import Filter


class ReloadingFilter(Filter):
    """A subclass loads its resources in `_load()` and names the attributes it sets in `resource_attrs`.

    `_load()` runs once in `__init__` and once after unpickling; pickles carry everything else
    (config, counts) but not those attributes.
    """

    resource_attrs: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self._load()

    def _load(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self.resource_attrs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._load()
