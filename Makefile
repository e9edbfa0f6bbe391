# Triage — build, test and run. Every target that builds first installs missing system packages.
#
#   make serve    install system packages, build release, serve the default model on :8080
#   make test     install system packages, build, run every test
#   make build    debug build
#   make release  release build (.build/release/triage)
#   make models   retrain and re-sign the bundled models (needs ../shared/corpora and the key)
#   make deps     install the Debian packages Triage links against, when missing
#   make bench    benchmarks against scikit-learn & co. (see BENCHMARKS.md)
#
# Override SWIFT_BUILD_FLAGS / SWIFT_TEST_FLAGS to pass extra flags to SwiftPM.

SHELL := /bin/bash
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
SWIFT_TEST_FLAGS ?=
# Debian packages: libstemmer (Snowball), SQLite (prediction log, SQL sources), zlib (gzipped CSV).
APT_PACKAGES := libstemmer-dev libsqlite3-dev zlib1g-dev
# The tests also run the README's tour and every --help example, which call curl and bash.
TEST_APT_PACKAGES := $(APT_PACKAGES) curl bash

# make serve: the bundled default model, its pinned public key, a local prediction log.
MODEL ?= models/banking77.triage
TRUSTED_KEY ?= models/triage.public.pem
HOST ?= 127.0.0.1
PORT ?= 8080
DB ?= .serve/predictions.sqlite
SERVE_FLAGS ?=

.PHONY: all deps test-deps build release test clean fixtures bench serve models

all: build

deps:
	@scripts/install-deps $(APT_PACKAGES)

test-deps:
	@scripts/install-deps $(TEST_APT_PACKAGES)

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

release: deps
	$(SWIFT) build -c release $(SWIFT_BUILD_FLAGS)

serve: release
	@mkdir -p $(dir $(DB))
	@echo "serve: $(MODEL) on http://$(HOST):$(PORT), log $(DB). Try, from another terminal:"
	@echo "  curl -s http://$(HOST):$(PORT)/messages -H 'Content-Type: application/json' \\"
	@echo "    -d '{\"messages\": [{\"id\": \"1\", \"subject\": \"Card\", \"body\": \"I lost my card, please block it\"}]}'"
	.build/release/triage serve --model $(MODEL) --trusted-key $(TRUSTED_KEY) --host $(HOST) --port $(PORT) --db $(DB) $(SERVE_FLAGS)

models: release
	scripts/make-models

# Tests run one at a time: the heavy ones already use both cores through TriageCore.Parallel, so
# running suites side by side only adds contention (measured: 2 m 43 s serial vs 5 m 23 s
# parallel on 2 cores), and long synchronous tests could hold every thread of Swift's
# cooperative pool, stalling the in-process HTTP server under test for tens of seconds.
test: test-deps
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test --skip-build --no-parallel $(SWIFT_TEST_FLAGS)
	@echo "again with the scalar C kernels forced (TRIAGE_KERNELS=baseline): the suites that score with them"
	TRIAGE_KERNELS=baseline $(SWIFT) test --skip-build --no-parallel $(SWIFT_TEST_FLAGS) \
	    --filter 'ScoringKernelTests|ClassifierConformanceTests|LinearArtifactTests|ArtifactTests'

# Regenerate the scikit-learn parity fixtures (installs scikit-learn from PyPI into .venv-fixtures).
fixtures:
	scripts/gen-fixtures

# Benchmarks: Triage and its Python peers (scikit-learn, XGBoost, LightGBM from PyPI, in
# .venv-bench/) on the same data; rewrites the tables in BENCHMARKS.md and, from them, the
# summary in README.md (alone: scripts/bench --summary-only). Needs ../shared/corpora.
bench: deps
	scripts/bench $(BENCH_FLAGS)

clean:
	rm -rf .build
