"""COYO-700M's cheap alt-text shape rules: character length and whitespace word count."""

from __future__ import annotations

from operators.base import Filter, Row
from operators.filters.config import TextConfig

REASONS = ("text_too_short", "text_too_long", "too_few_words", "too_many_words")


class AltTextLengthFilter(Filter):
    """Drops texts shorter than `min_length` or longer than `max_length` characters."""

    name = "alt_text_length"
    stage = "text"
    reads = ("text",)

    def __init__(self, cfg: TextConfig) -> None:
        super().__init__()
        self.min_length = cfg.min_length
        self.max_length = cfg.max_length

    def keep(self, row: Row) -> str | None:
        length = len(row["text"] or "")
        if length < self.min_length:
            return "text_too_short"
        if length > self.max_length:
            return "text_too_long"
        return None


class WordCountFilter(Filter):
    """Drops texts with fewer than `min_words` or more than `max_words` whitespace-separated words."""

    name = "word_count"
    stage = "text"
    reads = ("text",)

    def __init__(self, cfg: TextConfig) -> None:
        super().__init__()
        self.min_words = cfg.min_words
        self.max_words = cfg.max_words

    def keep(self, row: Row) -> str | None:
        words = len((row["text"] or "").split())
        if words < self.min_words:
            return "too_few_words"
        if words > self.max_words:
            return "too_many_words"
        return None
