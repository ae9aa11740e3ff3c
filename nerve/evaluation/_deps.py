"""Optional dependencies of nerve.evaluation, with an ImportError that names the extra to install."""
import importlib


def require(module, what):
    """Import ``module`` (e.g. 'scipy.stats') or raise an ImportError naming ``what`` needs it and the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        top = module.split(".")[0]
        extra = "plot" if top == "matplotlib" else "sklearn"
        pkg = {"sklearn": "scikit-learn"}.get(top, top)
        raise ImportError(f"{what} needs {pkg}; install it with: pip install 'nerve[{extra}]'") from e
