"""Evaluation (``nerve.evaluation``): caret-style confusion matrices, ROC/AUC, reports, and plots.

SciPy and scikit-learn (the ``nerve[sklearn]`` extra) compute the distributions and curves; matplotlib (the
``nerve[plot]`` extra) draws; a missing one gives an ImportError naming the extra to install.
"""
from .confusion import (ConfusionMatrix, balanced_error_rate, clopper_pearson, confusion_matrix,  # noqa: F401
                        confusion_statistics, mcnemar_pvalue)
from .report import (classification_report, format_confusion, mean_absolute_error, mean_squared_error,  # noqa: F401
                     r2_score, regression_report)
from .roc import ROC, optimal_threshold, roc_auc_score, roc_curve  # noqa: F401


def __getattr__(name):  # the plot functions import matplotlib only when used
    if name == "plots" or name.startswith("plot_"):
        import importlib
        plots = importlib.import_module(__name__ + ".plots")
        return plots if name == "plots" else getattr(plots, name)
    raise AttributeError(f"module 'nerve.evaluation' has no attribute {name!r}")
