# Two entry points: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO ?= demo/cats
PORT ?= 8001

V1 ?= .venv-datasette-1
DATASETTE_1 ?= 1.0a41

.PHONY: demo test test-datasette-1 lint format bench clean

$(BIN)/cattags: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/cattags
	$(BIN)/cattags demo-data $(DEMO) --count 200
	$(BIN)/cattags ingest $(DEMO)
	$(BIN)/datasette serve $(DEMO)/cats.db --host 127.0.0.1 --port $(PORT) --metadata metadata.json --root

lint: $(BIN)/cattags
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint test-datasette-1
	$(BIN)/python -m pytest

# The plugin's tests again under Datasette 1.0 (the main environment has 0.65).
$(V1)/bin/datasette: setup.py
	$(PYTHON) -m venv $(V1)
	$(V1)/bin/python -m pip install --quiet --upgrade pip
	$(V1)/bin/python -m pip install --quiet "datasette==$(DATASETTE_1)" -e '.[test]'
	touch $@

test-datasette-1: $(V1)/bin/datasette
	$(V1)/bin/python -m pytest -p no:cacheprovider tests/test_plugin.py tests/test_public.py tests/test_browser.py

format: $(BIN)/cattags
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(BIN)/cattags
	for script in ingest_speed memory pairs gallery nearest looks public_costs; do \
		$(BIN)/python benchmarks/$$script.py || exit 1; \
	done
	@if [ -n "$(PHOTOS)" ]; then $(BIN)/python benchmarks/duplicates.py $(PHOTOS); \
	else echo "benchmarks/duplicates.py needs real photographs: make bench PHOTOS='dir ...'"; fi

clean:
	rm -rf $(VENV) $(V1) demo build *.egg-info
