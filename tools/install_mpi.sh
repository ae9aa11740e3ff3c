#!/usr/bin/env bash
# Open MPI (Debian) + mpi4py for nerve.integrations.mpi and its mpirun test. Optional: without them the
# mpirun test skips with the reason. Usage: tools/install_mpi.sh [path/to/python]
set -u
PY="${1:-.venv/bin/python}"
if ! command -v mpirun >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openmpi-bin libopenmpi-dev </dev/null; } \
      || echo "note: could not install Open MPI; the mpirun test will skip"
  else
    echo "note: Open MPI not installed (needs root and apt-get); the mpirun test will skip"
  fi
fi
if command -v mpicc >/dev/null 2>&1 && ! "$PY" -c "import mpi4py" >/dev/null 2>&1; then
  "$PY" -m pip install -q mpi4py || echo "note: could not install mpi4py; the mpirun test will skip"
fi
exit 0
