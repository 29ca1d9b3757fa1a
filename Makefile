# The two contract commands: `make demo` (main job) and `make test` (whole suite + lint).
# Both create the virtual environment on first use. torch is installed first, pinned, so
# pip never pulls a CUDA build. The base environment includes the `sky` extra (Skyfield and
# the DE421 file) because `make demo` ends with this month's sky events.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_PIN := torch==2.13.0
PYTEST_ARGS ?= -n 2

.PHONY: demo test lint venv venv-test docs mutate clean

$(VENV)/.base: pyproject.toml setup.py kexue/data/shuffle/_core.c
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIN)
	$(PY) -m pip install -q -e '.[sky]'
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PY) -m pip install -q -e '.[test,bench,docs]'
	touch $@

$(VENV)/.docs: $(VENV)/.base
	$(PY) -m pip install -q -e '.[docs]'
	touch $@

# KaTeX (formulas rendered at build time) and iframe-worker, from the npm registry, pinned by
# docs/_gen/package-lock.json
docs/_gen/node_modules/.package-lock.json: docs/_gen/package.json docs/_gen/package-lock.json
	npm ci --prefix docs/_gen --no-audit --no-fund

# The documentation site, built offline into site/ in strict mode (a broken link, a bad result
# record or a formula KaTeX cannot parse fails it). Do not add -q: mkdocs then drops warnings.
docs: $(VENV)/.docs docs/_gen/node_modules/.package-lock.json
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

venv: $(VENV)/.base
venv-test: $(VENV)/.test

# The demo ends with kexue's own shipped models: kexue-mini-zh (issue 24) filling in masked
# characters of real sentences, top candidates with their probabilities, and the chess GPT
# kexue-xiangqi (issue 16) playing a few opening moves, the similarity model kexue-sim-mini-zh
# (issue 18) on 8541's demo pairs and the maths solver kexue-mwp-mini-zh (issue 15).
DEMO_FILL := "中华人民共和[MASK]成立于1949年。" "今天天气很好，我们去公园散[MASK]吧。" \
	"根据《中华人民共和国刑法》的规定，构成盗[MASK]罪。"

demo: $(VENV)/.base
	$(PY) -m kexue demo
	@echo "\nfill-mask with kexue-mini-zh, 6.8 M parameters pretrained here on a 2-core CPU (held-out"
	@echo "masked-token accuracy 0.21; its card: kexue/assets/kexue-mini-zh/README.md):"
	$(PY) -m kexue fill-mask --top-k 5 $(DEMO_FILL)
	@echo "\nthe chess GPT kexue-xiangqi (issue 16) plays both sides of an opening, its top 3 each move"
	@echo "(it only ever plays legal moves; its card: kexue/assets/kexue-xiangqi/README.md):"
	$(PY) -m kexue chess play --red model --black model --max-plies 8 --top --quiet
	@echo "\nsentence similarity with kexue-sim-mini-zh (issue 18): the cosine of 8541's demo pairs"
	@echo "(8541's base model: 0.977 and 0.624; this small one misses the negation, as its card says:"
	@echo "kexue/assets/kexue-sim-mini-zh/README.md):"
	$(PY) -m kexue sim compare 今天天气不错 今天天气很好 今天天气不好
	@echo "\nthe maths solver kexue-mwp-mini-zh (issue 15) on three held-out Ape210K problems it gets"
	@echo "right; it solves 17.7 % of the 1,000 held out (card: kexue/assets/kexue-mwp-mini-zh/README.md):"
	$(PY) -m kexue mwp solve "一件皮衣降价1/6后售价是750元，这件皮衣原价是多少元？"
	$(PY) -m kexue mwp solve "除数是5，商是28，余数是4，被除数是多少．"
	$(PY) -m kexue mwp solve "货物重150吨，用去了30吨，用去的是总数的几分之几？"

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
	rm -rf $(VENV) build site docs/_gen/node_modules *.egg-info .pytest_cache .ruff_cache
