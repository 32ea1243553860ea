# Two entry points: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo/cats
PORT ?= 8001

.PHONY: demo test lint format bench clean

$(BIN)/cattags: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/cattags
	$(BIN)/cattags demo-data $(DEMO) --count 200
	$(BIN)/cattags ingest $(DEMO)
	$(BIN)/datasette serve $(DEMO)/cats.db --host 127.0.0.1 --port $(PORT) --metadata metadata.json

lint: $(BIN)/cattags
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest

format: $(BIN)/cattags
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(BIN)/cattags
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) demo build *.egg-info
