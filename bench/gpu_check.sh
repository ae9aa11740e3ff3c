#!/bin/bash
# The GPU checks in one run (the `device` machine, or any CUDA machine with CuPy and a CUDA torch):
# versions, the tests that run on CuPy when a GPU is visible, the demo on the GPU, the GPU benchmark (nerve on
# CuPy vs PyTorch CUDA eager) and a host-time profile of the CNN step. Results go to $OUT (default:
# bench/gpu_out). Data for the recipes' tests: NERVE_DATA_DIR (default: .gpudata/ when it exists).
#   bash bench/gpu_check.sh [STEPS] [ROUNDS] [--unfused]
. "$(dirname "$0")/gpu_env.sh"
nvidia-smi -L
$PY -c "import numpy, cupy, torch; print('numpy', numpy.__version__, 'cupy', cupy.__version__, 'torch', torch.__version__)"
timeout 180 $PY -m pytest -q -p no:cacheprovider -n 4 tests/autograd/test_cupy.py tests/autograd/test_device_training.py \
    tests/recipes/test_recipes_on_device.py tests/training/test_step_plan.py 2>&1 | tee "$OUT/pytest.txt" | tail -40
timeout 60 $PY -m nerve.cli demo --device gpu --out "$OUT/demo" 2>&1 | tail -6 | tee "$OUT/demo.txt"
timeout 180 $PY bench/gpu_bench.py --steps "${1:-50}" --rounds "${2:-5}" $3 --out "$OUT/gpu_results.json" \
    2>&1 | tee "$OUT/bench.txt"
timeout 60 $PY bench/gpu_profile.py cnn 50 > "$OUT/profile_cnn.txt" 2>&1
grep -A20 "device time" "$OUT/profile_cnn.txt"; head -3 "$OUT/profile_cnn.txt"
rm -rf "$OUT/demo"
