# Quickstart targets: both work on a fresh machine with only Python 3 and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Extra pytest arguments, e.g. make test PYTEST_ARGS="-m 'not slow'"
PYTEST_ARGS ?=

.PHONY: demo test bench lines clean api-coverage

$(VENV)/.installed-base: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed-base pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed-base
	$(PY) -m shendu.examples.mnist_convnet $(ARGS)

test: $(VENV)/.installed-test
	$(PY) -m pytest -q $(PYTEST_ARGS)

# Per namespace, how many of Keras 3.16's public names resolve in shendu (tests/keras_api).
api-coverage: $(VENV)/.installed-base
	$(PY) -m tests.keras_api.api_coverage $(ARGS)

# The side-by-side suite (benchmarks/run.py) compares with PyTorch's CPU build.
$(VENV)/.installed-bench: $(VENV)/.installed-test
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet torch==2.13.0
	touch $@

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/run.py --json build/bench.json $(ARGS)

# Lines of Python per package of shendu (top-level modules such as config.py and
# fusion.py under "shendu"), so that growth stays visible.
lines:
	@find shendu -name '*.py' -not -path '*/__pycache__/*' | xargs wc -l | awk \
	  '$$2 != "total" { n = split($$2, p, "/"); k = (n > 2) ? p[1] "/" p[2] : p[1]; \
	                    s[k] += $$1; t += $$1 } \
	   END { for (k in s) printf "%7d  %s\n", s[k], k | "sort -k2"; close("sort -k2"); \
	         printf "%7d  total\n", t }'

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
