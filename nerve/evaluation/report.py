"""Text reports: caret's confusion-matrix print, scikit-learn's classification report, regression metrics."""
import numpy as np

from ._deps import require
from ._labels import pair


def _fmt(v, digits=4):
    v = float(v)
    if np.isnan(v):
        return "NA"
    return f"{v:.{digits}g}" if v != 0 else "0"


def _pvalue(p):
    if np.isnan(p):
        return "NA"
    return "< 2.2e-16" if p < 2.2e-16 else f"{p:.4g}"


def format_confusion(cm, digits=4):
    """caret's ``print(confusionMatrix(...))`` layout: the table with Prediction rows and Reference columns,
    the overall statistics, then the statistics by class (only the positive class for 2 classes)."""
    labels = [str(x) for x in cm.labels]
    table = cm.matrix.T  # caret: rows = Prediction, columns = Reference
    w = max(max(len(x) for x in labels), len(str(int(table.max()))), 4) + 1
    lines = ["Confusion Matrix and Statistics", "", " " * 10 + "Reference",
             "Prediction" + "".join(x.rjust(w) for x in labels)]
    for lab, row in zip(labels, table):
        lines.append(lab.rjust(10) + "".join(str(int(v)).rjust(w) for v in row))
    o = cm.overall
    lines += ["", "Overall Statistics", "",
              f"{'Accuracy':>23} : {_fmt(o['Accuracy'], digits)}",
              f"{'95% CI':>23} : ({_fmt(o['AccuracyLower'], digits)}, {_fmt(o['AccuracyUpper'], digits)})",
              f"{'No Information Rate':>23} : {_fmt(o['AccuracyNull'], digits)}",
              f"{'P-Value [Acc > NIR]':>23} : {_pvalue(o['AccuracyPValue'])}", "",
              f"{'Kappa':>23} : {_fmt(o['Kappa'], digits)}", "",
              f"{'Mcnemar' + chr(39) + 's Test P-Value':>23} : {_pvalue(o['McnemarPValue'])}", ""]
    b = cm.by_class
    if len(labels) == 2:
        i = cm.labels.index(cm.positive)
        names = [k for k in b if k not in ("Precision", "Recall", "F1")] + ["Precision", "Recall", "F1"]
        lines += [f"{k:>23} : {_fmt(b[k][i], digits)}" for k in names]
        lines += ["", f"{chr(39) + 'Positive' + chr(39) + ' Class':>23} : {cm.positive}"]
    else:
        lines.append("Statistics by Class:")
        lines.append("")
        cw = max(len(f"Class: {x}") for x in labels) + 1
        lines.append(" " * 21 + "".join(f"Class: {x}".rjust(cw) for x in labels))
        for k in b:
            lines.append(k.ljust(21) + "".join(_fmt(v, digits).rjust(cw) for v in b[k]))
    lines += ["", f"{'Balanced error rate':>23} : {_fmt(cm.balanced_error_rate, digits)}"]
    return "\n".join(lines)


def classification_report(y_true, y_pred, labels=None, target_names=None, digits=4, output_dict=False):
    """scikit-learn's ``classification_report`` (precision, recall, F1, support per class; accuracy; macro and
    weighted averages) on labels, one-hot targets or predicted probabilities."""
    metrics = require("sklearn.metrics", "classification_report")
    t, p = pair(y_true, y_pred, "classification_report")
    if target_names is not None:
        target_names = [str(x) for x in target_names]
    return metrics.classification_report(t, p, labels=labels, target_names=target_names, digits=digits,
                                         output_dict=output_dict, zero_division=0)


def _reg_pair(y_true, y_pred, fn):
    t = np.asarray(y_true.numpy() if hasattr(y_true, "numpy") else y_true, float)
    p = np.asarray(y_pred.numpy() if hasattr(y_pred, "numpy") else y_pred, float)
    if t.ndim == 2 and t.shape[1] == 1:
        t = t[:, 0]
    if p.ndim == 2 and p.shape[1] == 1:
        p = p[:, 0]
    if t.shape != p.shape:
        raise ValueError(f"{fn}: y_true and y_pred have different shapes: {t.shape} vs {p.shape}")
    if t.size == 0:
        raise ValueError(f"{fn}: empty y_true / y_pred")
    return t, p


def mean_squared_error(y_true, y_pred):
    t, p = _reg_pair(y_true, y_pred, "mean_squared_error")
    return float(np.mean((t - p) ** 2))


def mean_absolute_error(y_true, y_pred):
    t, p = _reg_pair(y_true, y_pred, "mean_absolute_error")
    return float(np.mean(np.abs(t - p)))


def r2_score(y_true, y_pred):
    """Coefficient of determination 1 - SS_res / SS_tot (averaged over outputs for 2-D targets, as
    scikit-learn's default 'uniform_average'); NaN... as scikit-learn: 1.0 when perfect, 0.0 when SS_tot = 0."""
    t, p = _reg_pair(y_true, y_pred, "r2_score")
    t2, p2 = (t[:, None], p[:, None]) if t.ndim == 1 else (t, p)
    ss_res = np.sum((t2 - p2) ** 2, axis=0)
    ss_tot = np.sum((t2 - t2.mean(0)) ** 2, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), np.where(ss_res == 0, 1.0, 0.0))
    return float(np.mean(r2))


def regression_report(y_true, y_pred):
    """{'mse', 'mae', 'r2'} as the seed's post-hoc check (seed-000-003-004 §4.3: MSE and MAE by hand)."""
    return {"mse": mean_squared_error(y_true, y_pred), "mae": mean_absolute_error(y_true, y_pred),
            "r2": r2_score(y_true, y_pred)}
