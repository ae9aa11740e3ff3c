"""``nerve.integrations``: hyper-parameter sweeps (tfruns-like), distributed tuning on Dask, MPI data-parallel
training and ONNX export. Each submodule imports its optional dependency only when used."""
__all__ = ["sweeps", "sweep_cli", "distributed", "mpi", "onnx_export", "onnx_layers", "examples", "seeding"]


def __getattr__(name):
    if name in __all__:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
