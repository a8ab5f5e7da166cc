# gankit: `make demo` trains the reference GAN briefly and writes samples; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Extra pip flags for torch/torchvision (CI sets --no-index so that a missing local wheel fails loudly
# instead of falling back to a multi-GB download).
TORCH_PIP_FLAGS ?=
DEMO_MINUTES ?= 5

.PHONY: demo test install clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH_PIP_FLAGS) torch torchvision
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: install
	$(PY) -m gankit data fetch mnist
	$(PY) -m gankit train configs/mnist_mlp.yaml --run-dir runs/demo --overwrite --max-minutes $(DEMO_MINUTES)
	$(PY) -m gankit sample runs/demo --num 64 --seed 0 --out runs/demo/samples.png
	@echo "samples written to runs/demo/samples.png (training grids in runs/demo/samples/)"

test: install
	$(PY) -m pytest

clean-venv:
	rm -rf $(VENV)
