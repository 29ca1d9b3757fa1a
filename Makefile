# The two contract commands: `make demo` (main job) and `make test` (whole suite + lint).
# Both create the virtual environment on first use. torch is installed first, pinned, so
# pip never pulls a CUDA build.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_PIN := torch==2.13.0
PYTEST_ARGS ?= -n 2

.PHONY: demo test lint venv venv-test mutate clean

$(VENV)/.base: pyproject.toml setup.py kexue/data/shuffle/_core.c
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIN)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

venv: $(VENV)/.base
venv-test: $(VENV)/.test

demo: $(VENV)/.base
	$(PY) -m kexue demo

lint: $(VENV)/.test
	$(PY) -m ruff check .

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Mutation testing of ONE module with cosmic-ray (docs/testing.md): each mutant is put into the
# module on disk, the module's mirrored test file runs, and the module is restored. Run it on a
# clean working tree; `git diff` must be empty afterwards.
#   make mutate MODULE=kexue/optim/adafactor.py [MUTATE_TESTS="tests/optim/test_adafactor.py"]
MODULE ?= kexue/objectives/sparse_softmax.py
MUTATE_TESTS ?= $(patsubst kexue/%,tests/%,$(dir $(MODULE)))test_$(notdir $(MODULE))
MUTATE_TIMEOUT ?= 300
MUTATE_DIR := .cache/mutate/$(subst /,.,$(MODULE))

$(VENV)/.mutate: $(VENV)/.test
	$(PY) -m pip install -q -e '.[test,mutate]'
	touch $@

mutate: $(VENV)/.mutate
	test -f $(MODULE) && test -n "$(wildcard $(MUTATE_TESTS))"
	mkdir -p $(MUTATE_DIR)
	printf '%s\n' '[cosmic-ray]' 'module-path = "$(MODULE)"' 'timeout = $(MUTATE_TIMEOUT)' \
	  'excluded-modules = []' \
	  'test-command = "$(abspath $(PY)) -m pytest -x -q -p no:cacheprovider -n 0 $(MUTATE_TESTS)"' \
	  '[cosmic-ray.distributor]' 'name = "local"' > $(MUTATE_DIR)/config.toml
	$(VENV)/bin/cosmic-ray init --force $(MUTATE_DIR)/config.toml $(MUTATE_DIR)/session.sqlite
	$(VENV)/bin/cosmic-ray baseline $(MUTATE_DIR)/config.toml
	$(VENV)/bin/cosmic-ray exec $(MUTATE_DIR)/config.toml $(MUTATE_DIR)/session.sqlite
	$(VENV)/bin/cr-report --show-diff --surviving-only $(MUTATE_DIR)/session.sqlite

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
