#!/bin/bash
# Every test that runs on a device (real CuPy when a GPU is visible, the stand-in otherwise): the "device",
# "gpu" and "cupy" tests of the whole suite, then the demo on the GPU. One run on the `device` machine:
#   OUT=... bash bench/gpu_check_all.sh [WORKERS]
. "$(dirname "$0")/gpu_env.sh"
nvidia-smi -L
$PY -c "import numpy, cupy; print('numpy', numpy.__version__, 'cupy', cupy.__version__)"
timeout 420 $PY -m pytest -q -p no:cacheprovider -n "${1:-8}" tests -k "device or gpu or cupy" -rfE --tb=short \
    2>&1 | tee "$OUT/pytest_all.txt" | tail -60
timeout 60 $PY -m nerve.cli demo --device gpu --out "$OUT/demo" 2>&1 | tail -4
rm -rf "$OUT/demo"
