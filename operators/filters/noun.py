"""COYO-700M's "the text has a noun" rule, with the denckring-en-pos tagger (pure Python, offline).

Chosen by measurement on the 56 labelled alts in tests/filters/test_text_noun.py (one process,
2 shared cores): denckring-en-pos 55/56 at ~10k texts/s, TextBlob's PatternTagger 49/56 at ~20k/s
(it calls "Click here", "Shop now", "Read more", "Scroll down", "Quick and easy" nouns, i.e. keeps
exactly the boilerplate this rule exists to drop); spaCy's small model (46/48 in OFFLINE.md) is
4-5x slower still. A noun is UD's NOUN or PROPN ("Nike Air Max 90 running shoes" has one).

Two shortcuts give the full tagger's answer ~2x faster (~20k/s): a word the tagger always reads
from its tag dictionary settles the text, and tagging stops at the first noun. The second reuses
the tagger's own `features` and `_predict`, so pin denckring-en-pos (0.6.0); a test checks the
answers against `Tagger.tag`.
"""

from __future__ import annotations

from collections.abc import Sequence

from denckring.lang.base import WORD_RE
from denckring_en_pos import tagger
from denckring_en_pos.perceptron import START, features

from operators.base import Row
from operators.filters.reloading import ReloadingFilter

REASONS = ("no_noun",)

NOUN_UPOS = ("NOUN", "PROPN")


class NounFilter(ReloadingFilter):
    """Drops texts in which the tagger finds no NOUN or PROPN among the words (letters only).

    The rule has no threshold, so it takes no config; `TextConfig.require_noun` decides whether
    `build_text_filters` includes it.
    """

    name = "noun"
    stage = "text"
    reads = ("text",)
    resource_attrs = ("_tagger", "_noun_labels", "_noun_words")

    def _load(self) -> None:
        self._tagger = tagger()  # cached per process by denckring_en_pos
        self._noun_labels = frozenset(c for c in self._tagger.classes if c.partition("|")[0] in NOUN_UPOS)
        # Words the tagger tags from its dictionary whatever their context.
        self._noun_words = frozenset(w for w, label in self._tagger.tagdict.items() if label in self._noun_labels)

    def keep(self, row: Row) -> str | None:
        words = WORD_RE.findall(row["text"] or "")
        if any(word.lower() in self._noun_words for word in words):
            return None
        return None if self.tags_a_noun(words) else "no_noun"

    def tags_a_noun(self, words: Sequence[str]) -> bool:
        """Whether `Tagger.tag(words)` has a noun label, tagging left to right and stopping at the
        first one: a label depends only on the words and the labels to its left."""
        model = self._tagger
        context = [word.lower() for word in words]
        prev = prev2 = START
        for index, word in enumerate(words):
            label = model.tagdict.get(context[index])
            if label is None:
                label = model._predict(features(index, word, context, prev, prev2))
            if label in self._noun_labels:
                return True
            prev2, prev = prev, label
        return False
