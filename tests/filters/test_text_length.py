"""COYO's length and word-count rules at their exact boundaries."""

import pytest

from operators.filters import AltTextLengthFilter, TextConfig, WordCountFilter
from operators.config import ConfigError, from_dict

CFG = TextConfig()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abcde", "text_too_short"),  # 5 characters: COYO drops length <= 5
        ("abcdef", None),  # 6
        ("x" * 1000, None),
        ("x" * 1001, "text_too_long"),
        ("", "text_too_short"),
        (None, "text_too_short"),  # a missing alt is data, not an error
    ],
)
def test_alt_text_length_boundaries(text, reason):
    assert AltTextLengthFilter(CFG).keep({"text": text}) == reason


@pytest.mark.parametrize(
    ("words", "reason"),
    [(2, "too_few_words"), (3, None), (256, None), (257, "too_many_words")],
)
def test_word_count_boundaries(words, reason):
    assert WordCountFilter(CFG).keep({"text": " ".join(["w"] * words)}) == reason


def test_words_are_split_on_any_whitespace():
    f = WordCountFilter(CFG)
    assert f.keep({"text": "  two\twords \n"}) == "too_few_words"
    assert f.keep({"text": "one\ttwo\nthree"}) is None


def test_thresholds_come_from_config():
    cfg = from_dict(TextConfig, {"min_length": 3, "max_words": 4})
    assert AltTextLengthFilter(cfg).keep({"text": "abc"}) is None
    assert WordCountFilter(cfg).keep({"text": "a b c d e"}) == "too_many_words"


@pytest.mark.parametrize(
    "bad",
    [{"min_length": 10, "max_length": 5}, {"min_words": -1}, {"min_language_probability": 1.5}, {"max_text_frequency": 0}],
)
def test_inconsistent_config_raises(bad):
    with pytest.raises(ConfigError):
        from_dict(TextConfig, bad)
