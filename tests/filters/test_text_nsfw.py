"""NSFW word list matching: whole tokens only, any case and punctuation, phrases included."""

import pytest

from operators.config import ConfigError, from_dict
from operators.filters import NsfwWordFilter, TextConfig
from operators.filters.nsfw import load_word_list


@pytest.fixture(scope="module")
def nsfw():
    return NsfwWordFilter(TextConfig())


@pytest.mark.parametrize(
    "text",
    [
        "Scunthorpe United football club",  # contains a list word inside a longer word
        "Class photo of the year",
        "Assessment results for the term",
        "Cockburn Street in Edinburgh",
        "A cocktail on the bar",
        "Therapist office interior",
    ],
)
def test_words_inside_longer_words_are_clean(nsfw, text):
    assert nsfw.keep({"text": text}) is None


@pytest.mark.parametrize(
    "text",
    [
        "you absolute bastard",
        "BASTARD on the loose",  # case
        "what a bastard!",  # punctuation
        "bastard's house",
        "free porn videos",
        "a blow job scene",  # two-word entry
        "2 girls 1 cup",  # four-word entry
        "f.u.c.k this",  # dotted entry from the list
        "doggy-style pose",  # hyphenated entry, also with a space:
        "doggy style pose",
    ],
)
def test_list_words_and_phrases_are_nsfw(nsfw, text):
    assert nsfw.keep({"text": text}) == "nsfw_text"


def test_every_entry_of_the_shipped_list_matches_in_a_sentence(nsfw):
    entries = load_word_list("better_profanity")
    assert len(entries) == 916
    missed = [e for e in entries if nsfw.keep({"text": f"Photo of {e.upper()}, taken here"}) is None]
    assert missed == []


def test_leetspeak_not_in_the_list_is_out_of_scope(nsfw):
    assert nsfw.keep({"text": "F*ck this thing"}) is None


def test_empty_and_missing_text_are_clean(nsfw):
    assert nsfw.keep({"text": ""}) is None
    assert nsfw.keep({"text": None}) is None


def test_custom_word_list_file(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("# house list\nbanana\nred apple\n\n", encoding="utf-8")
    f = NsfwWordFilter(from_dict(TextConfig, {"nsfw_words": str(words)}))
    assert f.keep({"text": "A Banana on a table"}) == "nsfw_text"
    assert f.keep({"text": "A red apple, sliced"}) == "nsfw_text"
    assert f.keep({"text": "A red car and an apple"}) is None
    assert f.keep({"text": "you absolute bastard"}) is None  # only the custom list applies


def test_missing_word_list_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        NsfwWordFilter(from_dict(TextConfig, {"nsfw_words": str(tmp_path / "nope.txt")}))
