"""The row-filter chain as the job runs it: order, drop marking, counts that reconcile, pickling."""

import pickle

from operators.base import batch_to_rows, rows_to_batch
from operators.filters import (
    REASONS,
    AltTextLengthFilter,
    EnglishFilter,
    NounFilter,
    NsfwWordFilter,
    TextConfig,
    WordCountFilter,
    build_text_filters,
)
from operators.config import from_dict

ROWS = [
    ("A red car parked on the street", None),
    ("Portrait of a young man smiling", None),
    ("Fresh vegetables at the farmers market", None),
    ("tiny", "text_too_short"),
    ("x" * 1001, "text_too_long"),
    ("two words", "too_few_words"),
    (" ".join(["w"] * 257), "too_many_words"),
    ("free porn videos here", "nsfw_text"),
    ("Ein roter Hund im Garten", "not_english"),
    ("12345 67890 2019", "not_english"),
    ("Click to enlarge", "no_noun"),
    ("Learn more about it", "no_noun"),
    (None, "text_too_short"),
]


def run_chain(filters, rows):
    batch = rows_to_batch(rows)
    for f in filters:
        batch = f(batch)
    return batch_to_rows(batch)


def test_order_is_cheapest_first_and_noun_rule_optional():
    kinds = [type(f) for f in build_text_filters(TextConfig())]
    assert kinds == [AltTextLengthFilter, WordCountFilter, NsfwWordFilter, EnglishFilter, NounFilter]
    no_noun = build_text_filters(from_dict(TextConfig, {"require_noun": False}))
    assert NounFilter not in [type(f) for f in no_noun]


def test_reasons_vocabulary():
    assert set(REASONS) == {
        "text_too_short", "text_too_long", "too_few_words", "too_many_words",
        "not_english", "no_noun", "nsfw_text", "text_too_frequent",
    }


def test_chain_marks_each_row_with_its_first_failing_rule_and_counts_reconcile():
    filters = build_text_filters(TextConfig())
    rows = [{"text": text, "page_url": f"p{i}"} for i, (text, _) in enumerate(ROWS)]
    rows.append({"text": "Earlier stage dropped this car photo", "drop_stage": "extract", "drop_reason": "bad_src"})
    out = run_chain(filters, rows)

    assert [r["drop_reason"] for r in out[: len(ROWS)]] == [reason for _, reason in ROWS]
    assert all(r["drop_stage"] == ("text" if r["drop_reason"] else None) for r in out[: len(ROWS)])
    assert [r["page_url"] for r in out[: len(ROWS)]] == [f"p{i}" for i in range(len(ROWS))]
    # a row an earlier stage dropped is neither re-marked nor counted
    assert (out[-1]["drop_stage"], out[-1]["drop_reason"]) == ("extract", "bad_src")

    # each filter saw exactly the rows the previous one kept: in = kept + sum(dropped)
    n_in = len(ROWS)
    for f in filters:
        entry = f.counts.to_dict()["text"]
        assert entry["in"] == n_in
        assert entry["kept"] == n_in - sum(entry["dropped"].values())
        n_in = entry["kept"]
    assert n_in == sum(reason is None for _, reason in ROWS) == 3

    dropped = {}
    for f in filters:
        for reason, n in f.counts.to_dict()["text"]["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + n
    expected = {}
    for _, reason in ROWS:
        if reason:
            expected[reason] = expected.get(reason, 0) + 1
    assert dropped == expected


def test_filters_survive_pickling_and_keep_their_counts():
    filters = build_text_filters(TextConfig())
    run_chain(filters, [{"text": "Click to enlarge"}, {"text": "A red car parked on the street"}])
    clones = pickle.loads(pickle.dumps(filters))
    assert clones[-1].counts.to_dict()["text"] == {"in": 2, "kept": 1, "dropped": {"no_noun": 1}}
    out = run_chain(clones, [{"text": t} for t, _ in ROWS])
    assert [r["drop_reason"] for r in out] == [reason for _, reason in ROWS]
