# Two commands on a fresh machine (Python 3.11+ and make, nothing else): `make demo` and `make test`.
# Each builds the virtualenv first when it is missing or older than pyproject.toml.
PYTHON      ?= python3
VENV        ?= .venv
PYTEST_ARGS ?=
PORT        ?= 8930
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed

.PHONY: install demo test lint bench docs emulator clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else \
		"provision needs Python 3.11 or newer; run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## the virtualenv with the tool and its dev tools

demo: $(STAMP)  ## the whole routine against the in-process emulator; report in out/audit.html
	$(BIN)/python -m provision.demo

# Byte-compiled once, so a process the tests or benchmarks start does not compile the package again (an
# environment with PYTHONDONTWRITEBYTECODE set would otherwise compile every module each process imports).
BYTECODE = PYTHONDONTWRITEBYTECODE= $(BIN)/python -m compileall -q provision >/dev/null

test: $(STAMP)  ## every test, on 2 workers (the README's test command)
	@$(BYTECODE)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff, and mypy --strict on the package
	$(BIN)/ruff check provision tests bench
	$(BIN)/mypy --strict provision

BENCH_USERS ?= 500,5000  # sizes of the no-op plan (`make bench BENCH_USERS=500` for a quicker run)
BENCH_QPS   ?= 100       # the emulator's rate cap for the throttling figure

bench: $(STAMP)  ## benchmarks: figures only, no assertion (bench/README.md)
	@uptime
	@$(BYTECODE)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/manifest_load.py --users $(BENCH_USERS) --runs 3
	$(BIN)/python bench/scale.py --users $(BENCH_USERS) --qps $(BENCH_QPS)
	$(BIN)/python bench/cpu_split.py --users 500
	$(BIN)/python bench/apply_scale.py --users 500 --cpu
	$(BIN)/python bench/workers_sweep.py --runs 1
	$(BIN)/python bench/emulator_rps.py --threads 1,8,16
	$(BIN)/python bench/emulator_rps.py --threads 8,16 --latency-ms 20 --calls 1600
	$(BIN)/python bench/crash_recovery.py --cloud alibaba
	$(BIN)/python bench/crash_recovery.py --cloud huawei
	@uptime

docs: $(STAMP)  ## regenerate docs/cli.md and docs/manifest-reference.md from the code
	$(BIN)/python -m provision.cli.docgen

emulator: $(STAMP)  ## the emulator on 127.0.0.1:$(PORT) until Ctrl-C (export the root key first: README)
	$(BIN)/provision emulator serve --port $(PORT)

clean:
	rm -rf $(VENV) out  # never .provision: it may hold a real account's state and secrets
