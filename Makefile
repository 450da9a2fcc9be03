# scalelab: `make help` lists the targets.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
export PYTHONHASHSEED ?= 0

.DEFAULT_GOAL := help
.PHONY: help install run test test-all lint format figures fig-dense-mp fig-rps fig-wigner bench clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(PY):
	python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP) ## create .venv (if missing) and install the project with its dev tools

run: install ## the main job: MP spectral pruning of a dense net on 5,000 real MNIST images
	$(PY) -m runners.run experiment=pruning/dense_mp

test: install ## the fast test suite (no network, CPU only, a few minutes)
	WANDB_MODE=disabled $(PY) -m pytest -q -m "not slow"

test-all: install ## every test, the slow ones too
	WANDB_MODE=disabled $(PY) -m pytest -q

lint: install ## ruff lint and format check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: install ## ruff format and autofix
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

figures: fig-dense-mp fig-rps fig-wigner ## regenerate every paper figure under results/

fig-dense-mp: install ## 5-seed sweep of pruning/dense_mp -> results/pruning/dense_mp/
	rm -rf multirun/fig-dense-mp
	WANDB_MODE=disabled $(PY) -m runners.run -m experiment=pruning/dense_mp seed=0,1,2,3,4 \
		logger=none hydra/launcher=parallel hydra.sweep.dir=multirun/fig-dense-mp
	$(PY) -m runners.report multirun/fig-dense-mp --out results/pruning/dense_mp
	cd multirun/fig-dense-mp/0 && cp esd.png accuracy.png accuracy.csv ranks.png ranks.csv \
		$(CURDIR)/results/pruning/dense_mp/

fig-rps: install ## homogenization studies -> results/homogenization/
	WANDB_MODE=disabled PY=$(PY) bash results/homogenization/make.sh

fig-wigner: install ## deformed Wigner spectra -> results/spectra/
	WANDB_MODE=disabled PY=$(PY) bash results/spectra/make.sh

bench: install ## benchmarks against peers (ratios, not timings in tests)
	@for b in bench/bench_*.py; do echo "== $$b"; WANDB_MODE=disabled $(PY) $$b || exit 1; done

clean: ## remove run folders and caches (keeps .venv and results/)
	rm -rf outputs multirun .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
