# The project's vocabulary: run, test, lint, bench. Every target bootstraps what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NODE_INSTALLED := node_modules/.installed
CHROMIUM := /usr/bin/chromium
PROTO_FILES := $(wildcard protos/connectorgateway/v1/*.proto)
API_BASELINE := api-baseline/connectorgateway-v1.binpb

.PHONY: run test lint bench proto api-baseline clean bytecode

$(INSTALLED): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Node.js runs the API tooling and the Node.js client test: Debian's packages when it is
# missing and we may install them (root with apt), otherwise a clear stop.
$(NODE_INSTALLED): package.json package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Node.js and npm (Debian packages nodejs, npm)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; \
	  else \
	    echo "Node.js and npm are needed (for buf and the Node.js client test): install them" >&2; \
	    exit 1; \
	  fi
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Chromium runs the board page's browser test (Playwright drives Debian's build): Debian's
# package when it is missing and we may install it (root with apt), otherwise a clear stop.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Chromium (Debian package chromium) for the board page's browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
	  echo "Chromium is needed at $(CHROMIUM) for the board page's browser test (Debian package chromium): install it" >&2; \
	  exit 1; \
	fi

# The project's bytecode, as a package install leaves it: a start then reads compiled modules
# instead of compiling every source again (a third of a start; more when the environment
# sets PYTHONDONTWRITEBYTECODE). Quick when nothing changed.
bytecode: $(INSTALLED)
	$(BIN)/python -m compileall -q -j0 gateway adapters connectorgateway bench

## Start the gateway on embedded defaults (SQLite under ./var, gRPC 127.0.0.1:50051, HTTP 127.0.0.1:8080).
run: $(INSTALLED) bytecode
	$(BIN)/connector-gateway serve

## Run the whole test suite.
test: $(INSTALLED) $(NODE_INSTALLED) $(CHROMIUM) bytecode
	$(BIN)/pytest

## Lint code and API: ruff, mypy --strict, buf lint, buf breaking against the last release's image.
lint: $(INSTALLED) $(NODE_INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	node_modules/.bin/buf lint
	node_modules/.bin/buf breaking --against $(API_BASELINE)
	$(MAKE) --no-print-directory proto
	git diff --exit-code -- connectorgateway || (echo "generated code is stale: run 'make proto' and commit" && exit 1)

## Regenerate the Python code for the API (committed, so installing needs no protoc).
proto: $(INSTALLED)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc -I protos \
	  --python_out=. --pyi_out=. --grpc_python_out=. --mypy_grpc_out=. \
	  $(PROTO_FILES)

## Record the current API as the last release; buf breaking compares against it.
api-baseline: $(NODE_INSTALLED)
	node_modules/.bin/buf build -o $(API_BASELINE)

## The governed call side by side with the cheapest proxies (~3 min), where a keyed write's
## CPU goes (~1 min), then the gateway's memory over 100,000 keyed writes (~4 min); figures go
## to bench/RESULTS.md. Options through BENCH_ARGS, BREAKDOWN_ARGS and SOAK_ARGS, e.g.
## make bench BENCH_ARGS="--profile" SOAK_ARGS="--calls 20000".
bench: $(INSTALLED) bytecode
	$(BIN)/python -m bench $(BENCH_ARGS)
	$(BIN)/python -m bench.breakdown $(BREAKDOWN_ARGS)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .mypy_cache .ruff_cache
