# The README's commands. `make quickstart` installs everything and runs the main job on real data.
PYTHON ?= python3

.PHONY: install test quickstart check

install:
	-command -v apt-get >/dev/null && { apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist chromium; }
	$(PYTHON) -m pip install torch==2.13.0
	$(PYTHON) -m pip install -e '.[all,test]' -e plugins/keras -e plugins/torch -e plugins/paddle

test:
	$(PYTHON) -m pytest

check:
	harness check specs/*.yaml

quickstart: install
	harness run specs/lenet_stride2.yaml --framework all --dataset fashion-mnist
