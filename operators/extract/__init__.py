"""The extract stage: alt-text pairs (and image records for the join) from WARC files."""

from operators.extract.alt_text import REASONS, extract_pairs, iter_warc, normalize_alt, normalize_url_key
from operators.extract.config import ExtractConfig

__all__ = ["REASONS", "ExtractConfig", "extract_pairs", "iter_warc", "normalize_alt", "normalize_url_key"]
