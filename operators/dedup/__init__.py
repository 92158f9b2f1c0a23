"""The `dedup` stage: drop images found in public datasets' pHash tables and repeated
(image, text) pairs; plus the builder of those reference tables."""

from operators.dedup import pairs, reference
from operators.dedup.config import DedupConfig
from operators.dedup.pairs import mark_pair_duplicates
from operators.dedup.reference import mark_reference_duplicates
from operators.dedup.reference_table import hash_reference

REASONS = reference.REASONS + pairs.REASONS

__all__ = ["REASONS", "DedupConfig", "hash_reference", "mark_pair_duplicates", "mark_reference_duplicates"]
