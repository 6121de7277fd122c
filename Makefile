# triage.k8s developer entry points. `make test` and `make demo` work on a fresh machine:
# they create the virtualenv and build the local control plane as needed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTIONS := $(CURDIR)/.build/collections
CLUSTER := $(BIN)/python hack/cluster/localcluster.py
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export TRIAGE_K8S_STATE ?= $(CURDIR)/.cache/kwok

.PHONY: help venv binaries cluster-up cluster-down cluster-status unit sanity lint ee integration test demo bench clean

help:
	@echo "make test          unit tests, ansible-test sanity, ansible-lint, integration tests on local clusters"
	@echo "make demo          start a local cluster and quarantine a crash-looping pod"
	@echo "make cluster-up    start the local clusters (prints the KUBECONFIG to use)"
	@echo "make cluster-down  stop them"

$(STAMP): tests/requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) is needed (or run make PYTHON=python3.X)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r tests/requirements-dev.txt
	touch $@

venv: $(STAMP) $(COLLECTIONS)/ansible_collections/triage/k8s

# The collection must sit at ansible_collections/triage/k8s to be imported and found by FQCN.
$(COLLECTIONS)/ansible_collections/triage/k8s:
	mkdir -p $(dir $@)
	ln -sfn $(CURDIR) $@

binaries:
	hack/cluster/build.sh
	hack/alertmanager/build.sh
	hack/versitygw/build.sh
	hack/metrics-server/build.sh

cluster-up: venv
	$(CLUSTER) up

cluster-down: venv
	$(CLUSTER) down

cluster-status: venv
	$(CLUSTER) status

unit: venv
	$(BIN)/pytest -q tests/unit

sanity: venv
	hack/sanity.sh

lint: venv
	$(BIN)/ansible-lint --offline

ee: venv
	hack/ee.sh

integration: venv
	$(BIN)/pytest -q tests/integration

# The integration tests start the local clusters they need (reusing healthy ones, e.g. from
# `make cluster-up`) and delete the ones they started, also on Ctrl-C or SIGTERM.
# The pinned binaries they need are built (or found cached) in the background while the unit
# tests, sanity and lint run: on a cold machine that overlaps about 15 minutes of Go builds with
# about 10 minutes of mostly single-threaded Python.
test: venv
	@status=0; mkdir -p .build; \
	$(MAKE) -s binaries > .build/binaries.log 2>&1 & builds=$$!; \
	$(BIN)/pytest -q -p no:cacheprovider tests/unit || status=1; \
	hack/sanity.sh || status=1; \
	$(BIN)/ansible-lint --offline || status=1; \
	hack/ee.sh || status=1; \
	if ! wait $$builds; then echo "make test: building the pinned binaries failed (.build/binaries.log):"; \
		tail -n 40 .build/binaries.log; status=1; fi; \
	$(BIN)/pytest -q -p no:cacheprovider tests/integration || status=1; \
	if [ $$status -ne 0 ]; then echo "make test: FAILED"; else echo "make test: all passed"; fi; \
	exit $$status

demo: venv
	hack/demo.sh

# Benchmarks (never timed tests): each starts its own local cluster and prints its figures; the
# last line prints the goals of issue 15 as one table from their JSON (docs/performance.md).
BENCH_OUT := .build/bench
bench: venv
	mkdir -p $(BENCH_OUT)
	$(BIN)/python bench/crashloop_bench.py --pods 1000,5000,10000 --keep --json $(BENCH_OUT)/crashloop.json
	$(BIN)/python bench/wan_bench.py --json $(BENCH_OUT)/wan.json
	$(BIN)/python bench/crashloop_bench.py --pods 30000 --keep --json $(BENCH_OUT)/crashloop-30k.json
	$(CLUSTER) down triage-crashbench
	$(BIN)/python bench/quarantine_bench.py --json $(BENCH_OUT)/quarantine.json
	$(BIN)/python bench/fleet_bench.py --json $(BENCH_OUT)/fleet.json
	$(BIN)/python bench/cleanup_bench.py --json $(BENCH_OUT)/cleanup.json
	$(BIN)/python bench/evidence_bench.py --json $(BENCH_OUT)/evidence.json
	$(BIN)/python bench/pod_health_bench.py
	$(BIN)/python bench/upload_bench.py
	$(BIN)/python bench/summary.py $(BENCH_OUT)

clean:
	rm -rf .build .pytest_cache tests/output
