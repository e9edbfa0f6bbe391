# Triage — build, test and run. Every target that builds first installs missing system packages.
#
#   make test     install system packages, build, run every test
#   make build    debug build
#   make release  release build (.build/release/triage)
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

.PHONY: all deps build release test clean fixtures bench

all: build

deps:
	@scripts/install-deps $(APT_PACKAGES)

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

release: deps
	$(SWIFT) build -c release $(SWIFT_BUILD_FLAGS)

test: deps
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_TEST_FLAGS)

# Regenerate the scikit-learn parity fixtures (installs scikit-learn from PyPI into .venv-fixtures).
fixtures:
	scripts/gen-fixtures

# Benchmarks: Triage and its Python peers (scikit-learn, XGBoost, LightGBM from PyPI, in
# .venv-bench/) on the same data; rewrites the tables in BENCHMARKS.md. Needs ../shared/corpora.
bench: deps
	scripts/bench $(BENCH_FLAGS)

clean:
	rm -rf .build
