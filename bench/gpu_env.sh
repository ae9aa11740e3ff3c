# Sourced by the bench/gpu_check*.sh scripts: the repository root, $OUT, and the environment of a device run
# (PYTHONPATH, unbuffered output, no numba JIT, the recipes' data in .gpudata/ when present, $PY).
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
OUT=${OUT:-bench/gpu_out}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 NERVE_JIT=0
[ -z "$NERVE_DATA_DIR" ] && [ -d .gpudata ] && export NERVE_DATA_DIR=$PWD/.gpudata
PY=${PY:-python3}
