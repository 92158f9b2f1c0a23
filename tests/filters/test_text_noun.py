"""The has-a-noun rule on hand-labelled alt texts; the accuracy floor is what we measured."""

import pickle

import pytest

from operators.filters import NounFilter

# (alt text, has a noun), labelled by hand. The no-noun half is the web boilerplate the rule is for.
LABELLED = [
    ("A red car parked on the street", True), ("Woman holding an umbrella in the rain", True),
    ("Nike Air Max 90 running shoes", True), ("Chocolate cake with strawberries", True),
    ("Portrait of a young man smiling", True), ("The Eiffel Tower at night", True),
    ("Aerial view of the city skyline", True), ("Dog playing fetch in the park", True),
    ("Modern kitchen with white cabinets", True), ("Company logo", True),
    ("Photo of the team at the 2019 conference", True), ("Mountain landscape at sunset", True),
    ("Blue cotton t-shirt for men", True), ("Screenshot of the settings page", True),
    ("Two children reading books", True), ("Fresh vegetables at the farmers market", True),
    ("Wedding rings on a wooden table", True), ("Map of downtown Chicago", True),
    ("Vintage leather sofa in brown", True), ("Cat sleeping on a windowsill", True),
    ("Close-up of a bee on a flower", True), ("Living room interior design ideas", True),
    ("Students walking across campus", True), ("Beach house with ocean views", True),
    ("Hand-drawn illustration of a fox", True), ("Golden retriever puppy", True), ("John Smith, CEO", True),
    ("Infographic showing sales growth", True), ("Bowl of ramen with egg", True), ("Sunrise over the lake", True),
    ("Runner crossing the finish line", True), ("Stainless steel water bottle", True),
    ("Christmas tree decorations", True), ("Old church in the village", True), ("Product image", True),
    ("Download our free ebook", True),
    ("Click here to continue", False), ("Download now", False), ("Shop now", False), ("Read more", False),
    ("Learn more about it", False), ("Very beautiful and elegant", False), ("Go back", False), ("See all", False),
    ("Click to enlarge", False), ("Scroll down", False), ("Buy it now", False), ("Are you ready?", False),
    ("This is it", False), ("Quick and easy", False), ("Coming soon", False), ("Check it out", False),
    ("Thank you very much", False), ("Why choose us", False), ("Get started", False), ("Not available", False),
]


@pytest.fixture(scope="module")
def nouns():
    return NounFilter()


def test_labelled_accuracy_floor(nouns):
    """Measured 55/56 (the miss: "Download now", capitalised unknown word read as a name);
    TextBlob's PatternTagger scored 49/56 on the same list."""
    wrong = [text for text, has_noun in LABELLED if (nouns.keep({"text": text}) is None) != has_noun]
    assert len(LABELLED) == 56
    assert len(wrong) <= 2, wrong


@pytest.mark.parametrize("text", ["A red car parked on the street", "Nike Air Max 90 running shoes", "John Smith, CEO"])
def test_nouns_and_proper_nouns_kept(nouns, text):
    assert nouns.keep({"text": text}) is None


@pytest.mark.parametrize("text", ["Click to enlarge", "Very beautiful and elegant", "2019 2020 2021", "", None, "!!! ???"])
def test_no_noun_dropped(nouns, text):
    assert nouns.keep({"text": text}) == "no_noun"


def test_shortcuts_agree_with_the_full_tagger(nouns):
    """Dictionary shortcut + early stop must give `Tagger.tag`'s answer, text by text."""
    from denckring.lang.base import WORD_RE
    from denckring_en_pos import tagger

    model = tagger()
    nouns_labels = {label for label in model.classes if label.split("|")[0] in ("NOUN", "PROPN")}
    words = [w for text, _ in LABELLED for w in WORD_RE.findall(text)]
    # the labelled texts, plus word salads where the first noun comes late or not at all
    texts = [text for text, _ in LABELLED] + [" ".join(words[i : i + 1 + i % 7]) for i in range(0, len(words), 3)]
    for text in texts:
        full = any(label in nouns_labels for label in model.tag(WORD_RE.findall(text)))
        assert (nouns.keep({"text": text}) is None) == full, text


def test_survives_pickling_without_shipping_the_model(nouns):
    blob = pickle.dumps(nouns)
    assert len(blob) < 10_000  # the tagger tables are megabytes: they are reloaded, not pickled
    clone = pickle.loads(blob)
    assert clone.keep({"text": "Read more"}) == "no_noun"
    assert clone.keep({"text": "Company logo"}) is None
