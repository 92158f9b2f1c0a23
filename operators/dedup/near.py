"""pHash near-duplicate maths, pure numpy: 64-bit hashes split into k+1 bands (pigeonhole) and
Hamming distances. Two hashes within distance k agree on at least one of k+1 disjoint bands, so
"some band equal" is a complete candidate test that a hash-join on band keys can evaluate."""

from __future__ import annotations

import re
from typing import Iterable

import numpy as np

_PHASH = re.compile(r"[0-9a-fA-F]{16}")
_BAND_VALUE_BITS = 32  # a band key is (band index << 32) | band value


def parse_phashes(values: Iterable[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """(uint64 hashes, valid mask) for 16-hex-digit pHash strings; anything else is invalid (hash 0)."""
    values = list(values)
    hashes = np.zeros(len(values), dtype=np.uint64)
    valid = np.zeros(len(values), dtype=bool)
    for i, value in enumerate(values):
        if isinstance(value, str) and _PHASH.fullmatch(value):
            hashes[i] = int(value, 16)
            valid[i] = True
    return hashes, valid


def band_widths(max_hamming: int) -> tuple[int, ...]:
    """Bit widths of the k+1 bands covering 64 bits, as equal as possible, wider bands first."""
    if max_hamming < 0 or max_hamming > 63:
        raise ValueError(f"max_hamming must be in [0, 63], got {max_hamming}")
    count = max_hamming + 1
    base, extra = divmod(64, count)
    return (base + 1,) * extra + (base,) * (count - extra)


def band_values(hashes: np.ndarray, max_hamming: int) -> np.ndarray:
    """(n, k+1) uint64: band b of each hash, bands taken from the most significant bit down."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    out = np.empty((len(hashes), max_hamming + 1), dtype=np.uint64)
    end = 0
    for band, width in enumerate(band_widths(max_hamming)):
        end += width
        mask = np.uint64((1 << width) - 1)
        out[:, band] = (hashes >> np.uint64(64 - end)) & mask
    return out


def band_keys(hashes: np.ndarray, max_hamming: int) -> np.ndarray:
    """(n, k+1) int64 join keys, (band index << 32) | band value: equal key <=> same band equal."""
    if max_hamming < 1:
        raise ValueError("band keys are for near-duplicates (max_hamming >= 1); exact matching joins on the hash")
    values = band_values(hashes, max_hamming)
    index = np.arange(max_hamming + 1, dtype=np.uint64) << np.uint64(_BAND_VALUE_BITS)
    return (values | index).astype(np.int64)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise Hamming distance of two equal-length arrays of 64-bit hashes (int64 or uint64 bits)."""
    return np.bitwise_count(_as_uint64(a) ^ _as_uint64(b)).astype(np.int64)


def _as_uint64(hashes: np.ndarray) -> np.ndarray:
    hashes = np.asarray(hashes)
    return hashes.view(np.uint64) if hashes.dtype == np.int64 else hashes.astype(np.uint64)
