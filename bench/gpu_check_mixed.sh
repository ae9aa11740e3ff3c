#!/bin/bash
# Mixed precision on a GPU in one run: the device tests (real CuPy) with tests/test_mixed_precision.py, then the
# GPU benchmark in float32 and in mixed_float16 (nerve and torch each in both) on the same warm card.
#   OUT=... bash bench/gpu_check_mixed.sh [STEPS] [ROUNDS]
. "$(dirname "$0")/gpu_env.sh"
nvidia-smi -L
timeout 240 $PY -m pytest -q -p no:cacheprovider -n 12 tests -k "device or gpu or cupy or mixed" -rfE --tb=short \
    -W ignore::pytest.PytestWarning 2>&1 | grep -v "PytestBenchmarkWarning\|warner(" | tee "$OUT/pytest_mixed.txt" | tail -30
for mode in "" --mixed; do
    timeout 200 $PY bench/gpu_bench.py --steps "${1:-30}" --rounds "${2:-3}" $mode \
        --out "$OUT/gpu_results${mode:+_mixed}.json" 2>&1 | grep -v "^  warn\|UserWarning" | tee -a "$OUT/bench_mixed.txt"
done
