"""COYO-700M's NSFW-word rule: drop texts containing a word (or phrase) from a profanity list.

The default list is better_profanity's shipped `profanity_wordlist.txt` (916 entries, MIT). Its
own matcher expands leetspeak variants and runs ~300 texts/s, so we match the plain list
instead: texts and entries are both split into lower-cased runs of letters and digits, and a
text is NSFW when one of its tokens (or a run of consecutive tokens, for entries like "blow job",
"f.u.c.k" or "2 girls 1 cup") equals an entry. Matching whole tokens is what keeps "Scunthorpe",
"class" and "assessment" clean. Obfuscations the list does not spell out ("F*ck", "fück") are
out of scope.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from operators.base import Filter, Row
from operators.config import ConfigError
from operators.filters.config import TextConfig

REASONS = ("nsfw_text",)

BETTER_PROFANITY = "better_profanity"
_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """Lower-cased runs of letters and digits: what both texts and list entries are compared as."""
    return _TOKEN.findall(text.lower())


def load_word_list(source: str) -> list[str]:
    """Entries of `source`: "better_profanity" (its shipped list) or a file path, one entry a line."""
    if source == BETTER_PROFANITY:
        path = Path(str(files("better_profanity") / "profanity_wordlist.txt"))
    else:
        path = Path(source).expanduser()
    if not path.is_file():
        raise ConfigError(f"text.nsfw_words: no word list file at {path}")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


class NsfwWordFilter(Filter):
    """Drops texts that contain an entry of the NSFW word list as whole tokens."""

    name = "nsfw_words"
    stage = "text"
    reads = ("text",)

    def __init__(self, cfg: TextConfig) -> None:
        super().__init__()
        entries = {tuple(tokens(entry)) for entry in load_word_list(cfg.nsfw_words)}
        entries.discard(())
        self.words = frozenset(entry[0] for entry in entries if len(entry) == 1)
        self.phrases = frozenset(entry for entry in entries if len(entry) > 1)
        self.phrase_starts = frozenset(entry[0] for entry in self.phrases)
        self.phrase_lengths = tuple(sorted({len(entry) for entry in self.phrases}))

    def keep(self, row: Row) -> str | None:
        words = tokens(row["text"] or "")
        if not self.words.isdisjoint(words):
            return "nsfw_text"
        if self.phrase_starts.isdisjoint(words):
            return None
        for i, word in enumerate(words):
            if word in self.phrase_starts:
                for n in self.phrase_lengths:
                    if tuple(words[i : i + n]) in self.phrases:
                        return "nsfw_text"
        return None
