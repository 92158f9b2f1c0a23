"""COYO-700M's language rule: keep a text only if CLD3's top-1 language is English.

CLD3 (`gcld3`) is COYO's own choice and runs ~40k short texts/s. On short alts it is weak: on the
76 English and 78 non-English alts labelled in tests/filters/test_text_language.py its top-1 is
English for only 47 English ones, and for 3 non-English ones (German with English loanwords,
probability 0.51-0.90). The probability floor barely matters there:

    floor      0.0  0.3  0.4  0.5  0.6  0.7  0.9
    English    47   47   46   43   42   41   31   (of 76 kept)
    non-Engl.   3    3    3    3    2    2    0   (of 78 kept)

so the default floor is 0.3: it refuses only CLD3's near-ties and costs no measured English alt.
Texts without a letter are not English (CLD3 answers "ja", reliable, for "" and "2019" when
`min_num_bytes=0`), so they never reach the model.
"""

from __future__ import annotations

import re

import gcld3

from operators.base import Row
from operators.filters.config import TextConfig
from operators.filters.reloading import ReloadingFilter

REASONS = ("not_english",)

_LETTER = re.compile(r"[^\W\d_]")
_MAX_BYTES = 1000  # CLD3 reads at most this many bytes; COYO's texts are <= 1000 characters


class EnglishFilter(ReloadingFilter):
    """Drops texts whose CLD3 top-1 language is not `cfg.language` with at least the floor probability."""

    name = "english"
    stage = "text"
    reads = ("text",)
    resource_attrs = ("_detector",)

    def __init__(self, cfg: TextConfig) -> None:
        self.language = cfg.language
        self.min_probability = cfg.min_language_probability
        super().__init__()

    def _load(self) -> None:
        self._detector = gcld3.NNetLanguageIdentifier(min_num_bytes=1, max_num_bytes=_MAX_BYTES)

    def keep(self, row: Row) -> str | None:
        text = row["text"] or ""
        if not _LETTER.search(text):
            return "not_english"
        result = self._detector.FindLanguage(text=text)
        if result.language != self.language or result.probability < self.min_probability:
            return "not_english"
        return None
