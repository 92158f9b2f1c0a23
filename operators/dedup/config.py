"""The `dedup` stage's settings, with COYO-700M's behaviour as defaults, loadable from YAML."""

from __future__ import annotations

from dataclasses import dataclass

from operators.config import ConfigError

# Past this a 64-bit pHash says little: unrelated photos differ by ~31 bits on average, and each
# of the k+1 bands would be under 2 bits wide, so nearly every pair of hashes becomes a candidate.
MAX_HAMMING_LIMIT = 16


@dataclass(frozen=True)
class DedupConfig:
    """COYO-700M: drop images whose pHash is in a public dataset's table, and (image, text) repeats."""

    reference_tables: tuple[str, ...] = ()  # Parquet URLs/paths with columns (image_phash, name, source_id)
    max_hamming: int = 0  # 0 = exact pHash match; k > 0 = also Hamming distance <= k (k+1 bands, verified)
    pair_dedup: bool = True  # keep one pair per (image_phash, text): the smallest id
    num_partitions: int = 8  # hash-shuffle partitions; each is held in one task's memory

    def __post_init__(self) -> None:
        if not 0 <= self.max_hamming <= MAX_HAMMING_LIMIT:
            raise ConfigError(f"dedup: max_hamming must be in [0, {MAX_HAMMING_LIMIT}], got {self.max_hamming}")
        if self.num_partitions < 1:
            raise ConfigError(f"dedup: num_partitions must be >= 1, got {self.num_partitions}")
