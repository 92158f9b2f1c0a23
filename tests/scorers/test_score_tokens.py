"""TokenCounter: COYO's text_length / word_count / BERT and GPT-2 token counts, offline."""

from __future__ import annotations

from dataclasses import replace

import pytest

from operators.base import rows_to_batch
from operators.config import from_dict
from operators.scorers.config import ScoreConfig
from operators.scorers.registry import MODEL_KEYS, MissingModelsError, check_models, unavailable_scorers
from operators.scorers.tokens import TokenCounter, bert_tokenizer, bert_tokenizer_file, gpt2_bpe_dir, gpt2_encoding

# (text, num_tokens_bert, num_tokens_gpt) as published in COYO-700M's README preview rows
COYO_ROWS = [
    ("The Gate by Pete2453", 6, 6),
    ("contemporary expensive lighting fixtures with minimum lighting", 7, 8),
    ("Himmel und Huhn - Ace in Action", 9, 10),
    ("Beautiful Pictures From the Shores of the Mythical Land (42", 11, 14),
]


@pytest.fixture(scope="module")
def counter():
    return TokenCounter(ScoreConfig())


def test_known_token_ids():
    cfg = ScoreConfig()
    assert gpt2_encoding(str(gpt2_bpe_dir(cfg))).encode_ordinary("hello world") == [31373, 995]
    assert bert_tokenizer(str(bert_tokenizer_file(cfg))).encode("Hello world").ids == [101, 7592, 2088, 102]


def test_counts_match_coyo_rows_without_special_tokens(counter):
    out = counter(rows_to_batch([{"text": t} for t, _, _ in COYO_ROWS]))
    assert counter.unavailable == {}
    assert list(out["num_tokens_bert"]) == [b for _, b, _ in COYO_ROWS]
    assert list(out["num_tokens_gpt"]) == [g for _, _, g in COYO_ROWS]
    assert list(out["text_length"]) == [len(t) for t, _, _ in COYO_ROWS]
    assert list(out["word_count"]) == [4, 7, 7, 10]
    assert all(type(v).__name__ == "int32" for v in out["num_tokens_gpt"])


def test_dead_rows_and_missing_text_are_null(counter):
    rows = [{"text": "hello world", "drop_reason": None}, {"text": "gone now", "drop_reason": "too_short"},
            {"text": None, "drop_reason": None}]
    out = counter(rows_to_batch(rows))
    assert list(out["num_tokens_gpt"]) == [2, None, None]
    assert list(out["word_count"]) == [2, None, None]


def test_vocab_txt_gives_the_same_counts():
    vocab = bert_tokenizer_file(ScoreConfig()).parent / "vocab.txt"
    counter = TokenCounter(ScoreConfig(bert_tokenizer=str(vocab)))
    out = counter(rows_to_batch([{"text": t} for t, _, _ in COYO_ROWS]))
    assert list(out["num_tokens_bert"]) == [b for _, b, _ in COYO_ROWS]


def test_missing_vocabulary_gives_nulls_and_reason(tmp_path):
    cfg = ScoreConfig(gpt2_bpe_dir=str(tmp_path))
    counter = TokenCounter(cfg)
    assert "tokens" in counter.unavailable
    assert unavailable_scorers(cfg)["tokens"] == f"vocabulary file(s) not found: {tmp_path / 'vocab.bpe'}, " \
                                                 f"{tmp_path / 'encoder.json'}"
    only_tokens = from_dict(ScoreConfig, {"gpt2_bpe_dir": str(tmp_path), "require_scores": True,
                                          **{name: {"enabled": False} for name in MODEL_KEYS}})
    with pytest.raises(MissingModelsError, match="tokens"):
        check_models(only_tokens)
    out = counter(rows_to_batch([{"text": "hello world"}]))
    assert out["num_tokens_bert"][0] is None and out["num_tokens_gpt"][0] is None
    assert out["text_length"][0] == 11                                   # still counted
    assert counter.resources().pool is None and counter.resources().num_gpus == 0


def test_disabled_tokens_keep_text_statistics():
    counter = TokenCounter(replace(ScoreConfig(), tokens=False))
    out = counter(rows_to_batch([{"text": "hello world"}]))
    assert counter.unavailable == {} and out["num_tokens_gpt"][0] is None and out["word_count"][0] == 2
