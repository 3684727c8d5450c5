# The README's commands. `make quickstart` installs everything and runs the main job on real data.
PYTHON ?= python3

.PHONY: install test quickstart check

install:
	-command -v apt-get >/dev/null && { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist chromium; }
	$(PYTHON) -m pip install torch==2.13.0
	$(PYTHON) -m pip install -e '.[all,test]' -e plugins/keras -e plugins/torch -e plugins/paddle -e plugins/jax

test:
	$(PYTHON) -m pytest

check:
	harness check specs/*.yaml

# The main job on MNIST; when MNIST can be neither found nor downloaded (the dry run exits 3),
# on Fashion-MNIST instead, said on the command line, in the results and in the report.
MAIN_JOB = harness run specs/lenet_stride2.yaml --framework all
quickstart: install
	@$(MAIN_JOB) --dry-run >/dev/null 2>&1; status=$$?; \
	if [ $$status -eq 3 ]; then \
		echo "MNIST cannot be found or downloaded here: running on Fashion-MNIST instead (--dataset fashion-mnist)."; \
		echo "$(MAIN_JOB) --dataset fashion-mnist"; $(MAIN_JOB) --dataset fashion-mnist; \
	elif [ $$status -eq 0 ]; then \
		echo "$(MAIN_JOB)"; $(MAIN_JOB); \
	else \
		$(MAIN_JOB) --dry-run; \
	fi
