# Two commands for a fresh machine (see README): `make demo` and `make test`.
# Both create .venv if missing and reinstall only when pyproject.toml changed (stamp files).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
FASHION_MNIST_DIR ?= /usr/share/datasets/fashion-mnist

# The tests may read the shared data folder beside the repository when it exists.
SHARED_DATA := $(wildcard ../shared/data)
ifneq ($(SHARED_DATA),)
test: export NERVE_DATA_DIR ?= $(abspath $(SHARED_DATA))
endif

.PHONY: demo test dataset bench clean

demo: $(VENV)/.stamp-demo dataset
	$(VENV)/bin/nerve demo

# Two pytest workers on 2 cores, one BLAS thread each: oversubscribed BLAS threads slow GEMMs 10-100x.
test: $(VENV)/.stamp-test dataset
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q -n 2

bench: $(VENV)/.stamp-test
	$(PY) bench/bench_ops.py
	$(PY) bench/import_time.py

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.stamp-demo: pyproject.toml | $(PY)
	$(PIP) install -q -e '.[plot,sklearn,fast]'
	touch $@

$(VENV)/.stamp-test: pyproject.toml tools/install_mpi.sh | $(PY)
	$(PIP) install -q -e '.[dev,plot,sklearn]'
	bash tools/install_mpi.sh $(PY)
	touch $@

# Fashion-MNIST from Debian (dataset-fashion-mnist) when root with apt; optional: demo and tests work without it.
dataset:
	@if [ -d $(FASHION_MNIST_DIR) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist </dev/null; } \
	  || echo "note: could not install dataset-fashion-mnist; continuing without it"; \
	else \
	  echo "note: dataset-fashion-mnist not installed (needs root and apt-get); continuing without it"; \
	fi

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
