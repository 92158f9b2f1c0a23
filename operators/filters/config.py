"""The `text` stage's thresholds, with COYO-700M's values as defaults, loadable from YAML."""

from __future__ import annotations

from dataclasses import dataclass

from operators.config import ConfigError


@dataclass(frozen=True)
class TextConfig:
    """COYO-700M's alt-text rules. Lengths are characters; words are whitespace-separated."""

    min_length: int = 6  # COYO: length <= 5 characters dropped
    max_length: int = 1000  # COYO: more than 1000 characters dropped
    min_words: int = 3  # COYO: fewer than 3 words dropped
    max_words: int = 256  # COYO: more than 256 words dropped
    language: str = "en"  # CLD3 code the top-1 prediction must equal
    # 0.3 from measurement (see operators/filters/language.py): on the labelled alts no threshold
    # in 0..0.5 rejects a non-English alt that 0 lets through, and 0.5 already costs 4 of the 47
    # English alts CLD3 labels English; 0.3 only refuses CLD3's near-ties.
    min_language_probability: float = 0.3
    require_noun: bool = True
    nsfw_words: str = "better_profanity"  # better_profanity's shipped list, or a word-list file path
    max_text_frequency: int = 10  # texts occurring more than this many times in the whole run dropped

    def __post_init__(self) -> None:
        if not 0 <= self.min_length <= self.max_length:
            raise ConfigError(f"text: need 0 <= min_length <= max_length, got {self.min_length}, {self.max_length}")
        if not 0 <= self.min_words <= self.max_words:
            raise ConfigError(f"text: need 0 <= min_words <= max_words, got {self.min_words}, {self.max_words}")
        if not 0.0 <= self.min_language_probability <= 1.0:
            raise ConfigError(f"text: min_language_probability must be in [0, 1], got {self.min_language_probability}")
        if self.max_text_frequency < 1:
            raise ConfigError(f"text: max_text_frequency must be >= 1, got {self.max_text_frequency}")
