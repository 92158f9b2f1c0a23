"""The `fetch` and `image` stages in one actor: each image is checked and decoded as soon as its
download ends, while the rest of its batch is still on the network.

Run one after the other, the image stage only sees a batch once its slowest response is in
(a 3 s straggler, a 20 s timeout), so decoding starts late and the downloaded bytes wait in
memory and in Ray's object store. Here the decode of every finished download overlaps that
wait, the bytes of a kept image never leave the actor (only its size, pHash and thumbnails
do), and the decisions are exactly those of `HttpFetcher` then `ImageDecoder`: the same
operators do the work, each marking its own drops (stage `fetch` or `image`).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Mapping

import numpy as np

from operators.base import DROP_COLUMNS, Batch, Operator, Resources, batch_len
from operators.fetch.config import FetchConfig
from operators.fetch.guard import GetAddrInfo
from operators.fetch.http import HttpFetcher
from operators.images import ImageConfig, ImageDecoder, Thumbnailer

ACTOR_MEMORY = 2 * 1024**3


class FetchDecoder(Operator):
    """`HttpFetcher` then `ImageDecoder`, row by row as downloads end.

    Rows with bytes already (from the WARCs) are decoded first, while the downloads start.
    Thread-safe like `HttpFetcher` (a threaded actor runs `fetch.batches_per_actor` batches at
    once); one decode runs at a time per instance, so an actor uses about one core for pixels
    whatever its batches in flight, next to its network thread.
    """

    stage = "fetch"
    reads = ("url",)

    def __init__(self, fetch: FetchConfig, image: ImageConfig,
                 thumbnailers: Mapping[str, Thumbnailer] | None = None, *,
                 getaddrinfo: GetAddrInfo | None = None) -> None:
        self.fetcher = HttpFetcher(fetch, getaddrinfo=getaddrinfo)
        self.decoder = ImageDecoder(image, thumbnailers=thumbnailers)
        self.writes = tuple(dict.fromkeys(self.fetcher.writes + self.decoder.writes))
        self._decoding = threading.Lock()

    def resources(self) -> Resources:
        # the fetch pool: fetch.actor_cpus covers the decoding too. Memory: torch (pHash, the
        # scorers' thumbnail transforms) and the bodies in flight made an actor 1.2-1.3 GiB in
        # the sample job; declared so that Ray never packs more of them on a node than fit
        return dataclasses.replace(self.fetcher.resources(), memory=ACTOR_MEMORY)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_decoding"}  # a lock does not pickle

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _decoding=threading.Lock())

    def close(self) -> None:
        self.fetcher.close()

    def process(self, batch: Batch, live: np.ndarray) -> Batch:
        todo = self.fetcher.prepare(batch, live)
        n = batch_len(batch)
        for name in self.decoder.writes:  # filled group by group below
            batch[name] = np.empty(n, dtype=object)
        waiting = np.zeros(n, dtype=bool)
        waiting[todo] = True
        self._decode(batch, np.flatnonzero(~waiting))  # WARC bytes and dropped rows: nothing to wait for
        for rows in self.fetcher.fetch_rows(batch, todo):  # as downloads end
            self._decode(batch, rows)
        return batch

    def _decode(self, batch: Batch, rows: np.ndarray) -> None:
        """Run the image stage on `rows` of `batch` and write its columns back in place."""
        if not len(rows):
            return
        part = {name: batch[name][rows] for name in ("image_bytes", *DROP_COLUMNS)}
        with self._decoding:
            part = self.decoder(part)
        for name in (*self.decoder.writes, "image_bytes", *DROP_COLUMNS):
            batch[name][rows] = part[name]
