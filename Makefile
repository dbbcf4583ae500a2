# soundtrack_cnn -- the two commands: `make train` and `make test`.
# Every target installs what it needs first (idempotent: a stamp file records
# that .venv matches requirements.txt and setup.py; a second one, that it also
# holds requirements-dev.txt, the tests' and the docs' toolchain).

PYTHON ?= $(shell command -v python3.11 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PROFILE ?= demo
DATA ?=
# Size of the bundled corpus (default: the profile's); PROFILE=study CORPUS=large
# shows the study's hyperparameters at work.
CORPUS ?=
# Your own data gets its own run folder, named after the manifest's folder.
RUN ?= runs/$(PROFILE)$(if $(CORPUS),-$(CORPUS))$(if $(DATA),-$(notdir $(patsubst %/,%,$(dir $(abspath $(DATA))))))
# A Dask scheduler (tcp://host:8786) to extract and train on; default: this machine.
SCHEDULER ?=
# A pretrained trunk every net starts from: 'pretrained' (shipped) or a TRUNK.npz
# (e.g. the RUN/trunk.npz of `make pretrain`); empty: the study's random start.
INIT ?=
# Epochs of `make pretrain` and of `make pretrain-trunk`.
PRETRAIN_EPOCHS ?= 20
TRUNK_EPOCHS ?= 20
# The real-music development set (../shared/realmusic2/build.sh writes it here).
REALMUSIC2 ?= $(HOME)/.cache/realmusic2
# Tests and benchmarks share the Theano compile cache with everything else.
export SOUNDTRACK_CNN_CACHE ?= $(HOME)/.cache/soundtrack_cnn

.PHONY: help install install-dev train test docs test-upstream bench bench-torch compare browser clean clean-runs \
        pretrain pretrain-trunk
.DEFAULT_GOAL := help

help: ## list the targets
	@echo "soundtrack_cnn -- make TARGET [PROFILE=demo|study|small] [CORPUS=small|demo|large] [DATA=manifest.csv] [RUN=folder] [INIT=pretrained|trunk.npz]"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1\t\2/' | expand -t 18

install: $(STAMP) ## create .venv with the exact pins (idempotent)

$(STAMP): requirements.txt setup.py
	@if [ -z "$(PYTHON)" ]; then \
	  echo "soundtrack_cnn needs Python 3.11 exactly (numpy<1.24 has no wheels for newer Pythons): install python3.11 or run 'make PYTHON=/path/to/python3.11 ...'."; exit 1; fi
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { \
	  echo "$(PYTHON) is not Python 3.11: soundtrack_cnn needs Python 3.11 exactly (numpy<1.24 has no wheels for newer Pythons); run 'make PYTHON=/path/to/python3.11 ...'."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	cd /tmp && $(CURDIR)/$(BIN)/python -c "import soundtrack_cnn, theano, lasagne, nolearn.lasagne, onnx, onnxruntime"
	touch $(STAMP)

install-dev: $(DEV_STAMP) ## install also the tests' and the docs' toolchain (requirements-dev.txt)

$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

# The viewer test drives Debian's Chromium through Playwright (no browser download).
browser: ## install Debian's chromium for the viewer's browser test (root only)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "chromium could not be installed: the viewer's browser test will be skipped."; \
	  else echo "no chromium and no root apt-get: the viewer's browser test will be skipped."; fi; }

test: install-dev browser ## run every test (doctests and the docs build with warnings as errors included)
	$(BIN)/python -m pytest -q

# The documentation site, from docs/ and the code's own docstrings and parsers;
# any warning is an error. Open docs/_build/html/index.html.
docs: install-dev ## build the documentation site into docs/_build/html (warnings are errors)
	$(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html
	@echo "docs: docs/_build/html/index.html"

train: install ## the study end to end on the bundled corpus (or DATA=your manifest)
	$(BIN)/python -m soundtrack_cnn run --profile $(PROFILE) --run $(RUN) $(if $(DATA),--manifest $(DATA)) $(if $(CORPUS),--corpus $(CORPUS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(INIT),--init $(INIT))

# Every track of DATA but its test rows, tags ignored (unlabelled rows welcome):
# an unlabelled store in RUN/pretrain-features, the trunk in RUN/trunk.npz (+ .json).
pretrain: install ## pretrain a trunk on DATA's tracks but its test rows: RUN/trunk.npz (then INIT=RUN/trunk.npz)
	@test -n "$(DATA)" || { echo "make pretrain needs DATA=manifest.csv (or a folder of audio)"; exit 1; }
	$(BIN)/python -m soundtrack_cnn features $(DATA) --out $(RUN)/pretrain-features --unlabelled --exclude-split test $(if $(SCHEDULER),--scheduler $(SCHEDULER))
	$(BIN)/python -m soundtrack_cnn pretrain $(RUN)/pretrain-features --out $(RUN)/trunk.npz --epochs $(PRETRAIN_EPOCHS)

# The trunk shipped in soundtrack_cnn/trunks/: the audio of realmusic2's labelled
# tracks (its pool but 2 untagged tracks) minus the project split's test tracks,
# tags ignored; 20 epochs, seed 0, one thread (`pretrain`'s default --jobs 1:
# thread counts change the sums, so one thread is what rebuilds the same weights;
# rebuilt so on 2026-12-07, the same sha256).  It was chosen on the split's
# validation tracks among five pretraining runs (docs/results/pretraining.md).
pretrain-trunk: install ## rebuild the shipped trunk from ../shared/realmusic2 (TRUNK_EPOCHS; about half an hour on 2 cores)
	$(BIN)/python -m soundtrack_cnn features $(REALMUSIC2)/manifest-project.csv --out $(REALMUSIC2)/features-project
	$(BIN)/python -m soundtrack_cnn pretrain $(REALMUSIC2)/features-project --out soundtrack_cnn/trunks/pretrained.npz --epochs $(TRUNK_EPOCHS)
	rm -f soundtrack_cnn/trunks/pretrained.checkpoint.npz  # the wheel ships every file of the package

bench: install ## speed and memory figures
	RUN=$(RUN) $(BIN)/python bench/run.py

# The same network in PyTorch (CPU wheel, its own venv: never a dependency of the
# package), timed in the same invocation as the Theano net, side by side.
TORCH_VENV := .venv-torch
BENCH_TORCH_DIR := $(SOUNDTRACK_CNN_CACHE)/bench-torch

$(TORCH_VENV)/.installed:
	test -x $(TORCH_VENV)/bin/python || $(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_VENV)/bin/python -m pip install --quiet torch==2.13.0 numpy==2.4.6
	touch $@

bench-torch: install $(TORCH_VENV)/.installed ## the same network in PyTorch, side by side (own venv)
	$(BIN)/python bench/bench_network.py --export $(BENCH_TORCH_DIR)
	$(TORCH_VENV)/bin/python bench/bench_torch.py --export $(BENCH_TORCH_DIR)

# Lasagne 0.1's own test suite, from its source release, under our compatibility module.
test-upstream: install-dev ## Lasagne 0.1's own test suite under our shims
	bash tests/stack/lasagne_upstream.sh

compare: install ## the study's method beside its next steps (pooling, calibration, two stages, GRU) on RUN
	$(BIN)/python -m soundtrack_cnn compare $(RUN)

clean: ## remove the environment and generated data; trained runs stay
	rm -rf $(VENV) build *.egg-info data docs/_build

clean-runs: ## delete every trained run in runs/ (asked for by name only)
	rm -rf runs
