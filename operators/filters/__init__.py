"""The `text` stage: COYO-700M's alt-text rules as row filters, plus the global frequency rule.

    filters = build_text_filters(cfg)          # cheap first; each is a Filter (Operator)
    for f in filters: batch = f(batch)         # or one map_batches per filter in the job
    ds = mark_frequent_texts(ds, cfg.max_text_frequency)   # after the row filters
"""

from __future__ import annotations

from operators.base import Filter
from operators.filters import frequency, language, length, noun, nsfw
from operators.filters.config import TextConfig
from operators.filters.frequency import mark_frequent_texts
from operators.filters.language import EnglishFilter
from operators.filters.length import AltTextLengthFilter, WordCountFilter
from operators.filters.noun import NounFilter
from operators.filters.nsfw import NsfwWordFilter

REASONS: tuple[str, ...] = length.REASONS + nsfw.REASONS + language.REASONS + noun.REASONS + frequency.REASONS


def build_text_filters(cfg: TextConfig) -> list[Filter]:
    """The row-local text rules in order of cost per text (cheapest first, so the expensive
    ones see fewest rows): length, word count, NSFW words (~1M/s), CLD3 (~40k/s), noun tagger (~10k/s)."""
    filters: list[Filter] = [
        AltTextLengthFilter(cfg),
        WordCountFilter(cfg),
        NsfwWordFilter(cfg),
        EnglishFilter(cfg),
    ]
    if cfg.require_noun:
        filters.append(NounFilter())
    return filters


__all__ = [
    "REASONS",
    "AltTextLengthFilter",
    "EnglishFilter",
    "NounFilter",
    "NsfwWordFilter",
    "TextConfig",
    "WordCountFilter",
    "build_text_filters",
    "mark_frequent_texts",
]
