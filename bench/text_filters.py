"""Throughput of the `text` row-filter chain vs the straightforward one (better_profanity's own
matcher, the POS tagger run on every text), on the same generated alt texts, in one process.

    .venv/bin/python bench/text_filters.py --n 20000 --baseline-n 500

Prints one JSON object. The baseline is ~100x slower, so it runs on the first --baseline-n texts;
both chains must give every one of those texts the same verdict.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from better_profanity import profanity  # noqa: E402
from denckring.lang.base import WORD_RE  # noqa: E402

from operators.base import Filter, Row, batch_len, rows_to_batch  # noqa: E402
from operators.filters import (  # noqa: E402
    AltTextLengthFilter,
    EnglishFilter,
    NounFilter,
    TextConfig,
    WordCountFilter,
    build_text_filters,
)

ADJ = ["red", "old", "modern", "small", "wooden", "bright", "vintage", "fresh", "happy", "golden", "white", "large"]
NOUN = ["car", "house", "dog", "woman", "kitchen", "table", "beach", "city", "flower", "shoes", "cake", "church",
        "logo", "team", "bottle", "sofa", "garden", "bridge", "mountain", "laptop", "chair", "street", "river"]
PLACE = ["in the park", "on the street", "at night", "at sunset", "in the kitchen", "on a table", "by the lake",
         "with friends", "in the rain", "for sale", "near the station", "in winter"]
BOILERPLATE = ["Click here to continue", "Read more about it", "Learn more", "Shop now online", "Go back home",
               "Click to enlarge", "Scroll down", "Buy it now", "Coming soon", "Check it out", "Get started today"]
FOREIGN = ["Ein roter Hund im Garten", "Une voiture rouge garée dans la rue", "Un perro jugando en el parque",
           "Foto della squadra al completo", "Zicht op de stad bij nacht", "赤い車が道路に駐車している",
           "Красная машина на улице", "Widok na góry o zachodzie słońca", "Mehr erfahren über uns",
           "Hier klicken für mehr", "点击这里给我发消息", "Casa en venta en Madrid", "Rezept für Apfelkuchen"]
JUNK = ["", "logo", "img", "IMG_2034.jpg", "banner-1", "2019", "12345 67890", "image", "icon arrow"]
NSFW = ["free porn videos", "sexy nude model photo", "what a bastard man", "hot xxx pics here"]


def alt_texts(n: int, seed: int = 0) -> list[str]:
    """A mix shaped like web alt text: mostly English captions, boilerplate, other languages, junk."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.50:
            text = f"{rng.choice(['A', 'The', 'Two', 'Our'])} {rng.choice(ADJ)} {rng.choice(NOUN)} {rng.choice(PLACE)}"
            if rng.random() < 0.3:
                text += f" {rng.randint(1, 2024)}"
        elif kind < 0.60:
            text = rng.choice(BOILERPLATE)
        elif kind < 0.78:
            text = rng.choice(FOREIGN)
        elif kind < 0.95:
            text = rng.choice(JUNK)
        elif kind < 0.98:
            text = rng.choice(NSFW)
        else:
            text = " ".join(rng.choice(NOUN) for _ in range(rng.choice([200, 300])))
        out.append(text)
    return out


class BetterProfanityFilter(Filter):
    """Baseline: better_profanity's own matcher (leetspeak variants, character-by-character)."""

    name = "better_profanity"
    stage = "text"
    reads = ("text",)

    def __init__(self) -> None:
        super().__init__()
        profanity.load_censor_words()

    def keep(self, row: Row) -> str | None:
        return "nsfw_text" if profanity.contains_profanity(row["text"] or "") else None


class FullTagNounFilter(NounFilter):
    """Baseline: run the tagger on every text (no tag-dictionary shortcut)."""

    def keep(self, row: Row) -> str | None:
        labels = self._tagger.tag(WORD_RE.findall(row["text"] or ""))
        return None if any(label in self._noun_labels for label in labels) else "no_noun"


def run(filters: list[Filter], texts: list[str], batch_size: int) -> tuple[list, float]:
    """Batches through each filter's Operator call, as map_batches would; returns verdicts, seconds."""
    reasons: list = []
    start = time.perf_counter()
    for lo in range(0, len(texts), batch_size):
        batch = rows_to_batch([{"text": t} for t in texts[lo : lo + batch_size]])
        for f in filters:
            batch = f(batch)
        reasons.extend(batch["drop_reason"][: batch_len(batch)].tolist())
    return reasons, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--baseline-n", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=1024)
    args = parser.parse_args()

    cfg = TextConfig()
    texts = alt_texts(args.n)
    ours = build_text_filters(cfg)
    baseline = [AltTextLengthFilter(cfg), WordCountFilter(cfg), BetterProfanityFilter(), EnglishFilter(cfg),
                FullTagNounFilter()]

    ours_reasons, ours_s = run(ours, texts, args.batch_size)
    sub = texts[: args.baseline_n]
    base_reasons, base_s = run(baseline, sub, args.batch_size)
    mismatches = [(t, a, b) for t, a, b in zip(sub, ours_reasons, base_reasons) if a != b]

    kept = sum(r is None for r in ours_reasons)
    dropped: dict[str, int] = {}
    for r in ours_reasons:
        if r is not None:
            dropped[r] = dropped.get(r, 0) + 1
    ours_tps = len(texts) / ours_s
    base_tps = len(sub) / base_s
    print(json.dumps({
        "bench": "text_filters",
        "n": len(texts),
        "baseline_n": len(sub),
        "ours_texts_per_s": round(ours_tps),
        "baseline_texts_per_s": round(base_tps, 1),
        "ratio_vs_better_profanity_full_tag": round(ours_tps / base_tps, 1),
        "same_verdicts": not mismatches,
        "mismatches": mismatches[:5],
        "kept": kept,
        "dropped": dict(sorted(dropped.items())),
        "seconds_per_filter": {f.name: round(f.seconds, 3) for f in ours},
    }))


if __name__ == "__main__":
    main()
