#!/bin/bash
# The GPU checks in one run (the `device` machine, or any CUDA machine with CuPy and a CUDA torch):
# versions, the CuPy tests, the GPU benchmark (nerve on CuPy vs PyTorch CUDA eager) and a host-time profile of
# the CNN step. Results go to $OUT (default: bench/gpu_out).   bash bench/gpu_check.sh [STEPS] [ROUNDS]
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-bench/gpu_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 NERVE_JIT=0
PY=${PY:-python3}
nvidia-smi -L
$PY -c "import numpy, cupy, torch; print('numpy', numpy.__version__, 'cupy', cupy.__version__, 'torch', torch.__version__)"
timeout 240 $PY -m pytest -q -p no:cacheprovider tests/autograd/test_cupy.py tests/autograd/test_device_training.py \
    2>&1 | tee "$OUT/pytest.txt" | tail -25
timeout 400 $PY bench/gpu_bench.py --steps "${1:-50}" --rounds "${2:-5}" --unfused --out "$OUT/gpu_results.json" \
    2>&1 | tee "$OUT/bench.txt"
timeout 150 $PY bench/gpu_profile.py cnn 50 > "$OUT/profile_cnn.txt" 2>&1
grep -A20 "device time" "$OUT/profile_cnn.txt"; head -3 "$OUT/profile_cnn.txt"
