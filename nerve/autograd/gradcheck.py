"""Numerical gradient check (seed-002 §1.11, §6.7).

For a random cotangent v, compare the analytic vector-Jacobian product  g = J^T v  from backward with
the two-sided difference  g~_i = (<v, f(x + eps e_i)> - <v, f(x - eps e_i)>) / (2 eps)  in float64,
and report the seeds' relative difference  |g - g~| / (|g| + |g~|)  and the worst element.
"""
import numpy as np

from .. import backend
from .tensor import Tensor


class GradcheckError(AssertionError):
    pass


class GradcheckResult:
    def __init__(self, rel_diff, worst, ok):
        self.rel_diff, self.worst, self.ok = rel_diff, worst, ok

    def __bool__(self):
        return self.ok

    def __repr__(self):
        return f"GradcheckResult(ok={self.ok}, rel_diff={self.rel_diff:.3e}, worst={self.worst})"


def _outputs(fn, inputs):
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def gradcheck(fn, inputs, eps=1e-6, tol=1e-6, seed=0, raise_exception=True, wrt=None):
    """Check the gradients of ``fn(*inputs)`` w.r.t. every float input (or the indices in ``wrt``).

    ``inputs`` are arrays or Tensors; they are converted to float64 leaf tensors. ``fn`` may return a
    Tensor or a tuple of Tensors. Returns a GradcheckResult; raises GradcheckError when the relative
    difference exceeds ``tol`` (unless raise_exception=False).
    """
    rs = np.random.default_rng(seed)
    xs = []
    for i, x in enumerate(inputs):
        d = x.data if isinstance(x, Tensor) else x
        d = np.asarray(backend.to_numpy(d)) if not isinstance(d, (int, float)) else d
        if isinstance(d, np.ndarray) and d.dtype.kind == "f" and (wrt is None or i in wrt):
            xs.append(Tensor(d.astype(np.float64), requires_grad=True))
        else:
            xs.append(x)
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: argument 'inputs' has no float array to differentiate")
    with backend.precision("float64"), backend.enable_grad():
        outs = _outputs(fn, xs)
        vs = [rs.standard_normal(o.shape) for o in outs]
        loss = None
        for o, v in zip(outs, vs):
            if o.requires_grad:
                term = (o * v).sum()
                loss = term if loss is None else loss + term
        if loss is None:
            raise ValueError("gradcheck: the output does not depend on any input that requires grad")
        loss.backward()
        analytic = [xs[i].grad.data.copy() if xs[i].grad is not None else np.zeros(xs[i].shape) for i in checked]
        for i, a in zip(checked, analytic):
            if a.shape != xs[i].shape:
                raise GradcheckError(f"gradcheck: gradient of input {i} has shape {a.shape}, expected {xs[i].shape}")

        def scalar():
            with backend.no_grad():
                return float(sum(float((backend.to_numpy(o.data).astype(np.float64) * v).sum())
                                 for o, v in zip(_outputs(fn, xs), vs)))

        numeric = []
        for i in checked:
            x = xs[i].data
            gnum = np.zeros_like(x)
            flat, gflat = x.reshape(-1), gnum.reshape(-1)
            for k in range(flat.size):
                orig = flat[k]
                flat[k] = orig + eps
                fp = scalar()
                flat[k] = orig - eps
                fm = scalar()
                flat[k] = orig
                gflat[k] = (fp - fm) / (2 * eps)
            numeric.append(gnum)
    g = np.concatenate([a.reshape(-1) for a in analytic])
    gn = np.concatenate([a.reshape(-1) for a in numeric])
    denom = np.linalg.norm(g) + np.linalg.norm(gn)
    rel = float(np.linalg.norm(g - gn) / denom) if denom > 0 else 0.0
    k = int(np.argmax(np.abs(g - gn))) if g.size else 0
    # locate the worst element: (input index, position, analytic, numeric)
    off, where = k, None
    for i, a in zip(checked, analytic):
        if off < a.size:
            where = (i, np.unravel_index(off, a.shape), float(g[k]), float(gn[k]))
            break
        off -= a.size
    res = GradcheckResult(rel, where, rel < tol)
    if not res.ok and raise_exception:
        raise GradcheckError(f"gradcheck: relative difference {rel:.3e} >= tol {tol:.1e}; worst element: "
                             f"input {where[0]} at {where[1]}: analytic {where[2]:.6g}, numeric {where[3]:.6g}")
    return res
