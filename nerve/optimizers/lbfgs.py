"""L-BFGS: a quasi-Newton optimizer for full-batch training of small networks.

seed-002 §1.8 (Newton's method, §5.3.5): w_{t+1} = w_t − η H_t⁻¹ g_t is too expensive; quasi-Newton
methods build an approximation of H⁻¹ from gradient differences. L-BFGS (Nocedal & Wright, Numerical
Optimization, ch. 7) keeps the last ``history_size`` pairs s_k = w_{k+1} − w_k, y_k = g_{k+1} − g_k and
applies H⁻¹ with the two-loop recursion (N&W Alg. 7.4), seeded with H₀ = (s·y / y·y) I. The step length
comes from a strong-Wolfe line search (linesearch.py) or is ``learning_rate``. scikit-learn's MLP 'lbfgs'
solver (scipy's L-BFGS-B) is the same method.

Usage (PyTorch-like; the loss must be re-evaluated several times per step, hence a closure)::

    opt = nerve.optimizers.LBFGS()
    def closure():
        return loss_fn(model(x), y)          # a scalar Tensor
    opt.minimize(closure, model.trainable_variables)   # builds, then one step()
    opt.step(closure)                                    # more steps

Before each evaluation the optimizer clears ``.grad`` of its variables and calls the closure. If the
closure did not call ``backward()`` itself (all grads still None), the optimizer calls ``loss.backward()``.
The closure may also compute gradients itself and return the loss as a float. A training loop detects
this optimizer with ``optimizer.requires_closure`` (True); ``apply``/``apply_gradients`` raise.
One ``step`` runs up to ``max_iter`` iterations and increments ``iterations`` by one; ``n_iter`` and
``func_evals`` count inner iterations and loss evaluations. Internal vectors are float64 whatever the
variables' dtype.
"""
import numpy as np

from .. import backend
from ..autograd.tensor import Tensor
from ..saving.registry import register
from .base import Optimizer
from .linesearch import strong_wolfe


@register("optimizers")
class LBFGS(Optimizer):
    requires_closure = True

    def __init__(self, learning_rate=1.0, history_size=10, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, line_search="strong_wolfe", name="lbfgs", **kwargs):
        for arg in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "gradient_accumulation_steps",
                    "loss_scale_factor"):
            if kwargs.get(arg) is not None:
                raise ValueError(f"LBFGS: argument {arg!r} is not supported (add an L2 term to the loss instead "
                                 f"of weight decay), got {kwargs[arg]!r}")
        if kwargs.get("use_ema"):
            raise ValueError("LBFGS: argument 'use_ema' is not supported")
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if line_search not in ("strong_wolfe", None):
            raise ValueError(f"LBFGS: argument 'line_search' must be 'strong_wolfe' or None, got {line_search!r}")
        if int(history_size) < 1 or int(max_iter) < 1:
            raise ValueError(f"LBFGS: arguments 'history_size' and 'max_iter' must be >= 1, got "
                             f"{history_size!r} and {max_iter!r}")
        self.history_size = int(history_size)
        self.max_iter = int(max_iter)
        self.max_eval = int(max_eval) if max_eval is not None else self.max_iter * 5 // 4
        self.tolerance_grad = tolerance_grad
        self.tolerance_change = tolerance_change
        self.line_search = line_search
        self._reset_history()

    def _reset_history(self):
        self._s, self._y, self._rho = [], [], []
        self._h_diag = 1.0
        self._d = self._prev_grad = None
        self._t = 0.0
        self.n_iter = 0
        self.func_evals = 0

    # ------------------------------------------------------------------ flat views of the variables
    def _params(self):
        return np.concatenate([backend.to_numpy(v.data).ravel().astype(np.float64)
                               for v in self._trainable_variables])

    def _set_params(self, flat):
        xp = backend.get_array_module(*[v.data for v in self._trainable_variables])
        k = 0
        for v in self._trainable_variables:
            n = v.data.size
            v.data[...] = xp.asarray(flat[k:k + n].reshape(v.data.shape), dtype=v.data.dtype)
            k += n
        for v in self._trainable_variables:
            if getattr(v, "constraint", None) is not None:
                c = v.constraint(v.data)
                v.data[...] = backend.unwrap(c)

    def _evaluate(self, closure):
        """Loss and flat float64 gradient at the current variables (see the module docstring)."""
        variables = self._trainable_variables
        for v in variables:
            v.grad = None
        with backend.enable_grad():
            loss = closure()
        if all(v.grad is None for v in variables) and isinstance(loss, Tensor) and loss.requires_grad:
            loss.backward()
        self.func_evals += 1
        grads = [np.zeros(v.data.size) if v.grad is None else
                 backend.to_numpy(getattr(v.grad, "data", v.grad)).ravel().astype(np.float64) for v in variables]
        value = float(loss.data if isinstance(loss, Tensor) else loss)
        return value, np.concatenate(grads)

    def _direction(self, g):
        """d = −H g by the two-loop recursion (N&W Alg. 7.4) with H₀ = h_diag · I."""
        q = -g
        alphas = []
        for s, y, rho in zip(reversed(self._s), reversed(self._y), reversed(self._rho)):
            a = rho * (s @ q)
            q -= a * y
            alphas.append(a)
        r = self._h_diag * q
        for s, y, rho, a in zip(self._s, self._y, self._rho, reversed(alphas)):
            b = rho * (y @ r)
            r += (a - b) * s
        return r

    # ------------------------------------------------------------------ public API
    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self._reset_history()

    def minimize(self, closure, variables):
        """Build on ``variables`` (first call) and run one ``step(closure)``; returns the initial loss."""
        if not self.built:
            self.build(variables)
        if self._pending_state is not None:
            self._finish_build()
        return self.step(closure)

    def step(self, closure):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss (float) before the step."""
        if not self.built:
            raise ValueError("LBFGS: the optimizer is not built; call minimize(closure, variables) or "
                             "build(variables) first")
        if self._pending_state is not None:
            self._finish_build()
        tol_change = self.tolerance_change
        loss, g = self._evaluate(closure)
        first_loss, evals = loss, 1
        if np.abs(g).max(initial=0.0) <= self.tolerance_grad:
            self._iterations += 1
            return first_loss
        for k in range(self.max_iter):
            self.n_iter += 1
            if self._d is None:
                d, self._h_diag = -g, 1.0
            else:
                # curvature pair from the last step; skipped unless s·y > 0 keeps H positive definite
                y, s = g - self._prev_grad, self._d * self._t
                ys = y @ s
                if ys > 1e-10:
                    if len(self._s) == self.history_size:
                        del self._s[0], self._y[0], self._rho[0]
                    self._s.append(s)
                    self._y.append(y)
                    self._rho.append(1.0 / ys)
                    self._h_diag = ys / (y @ y)
                d = self._direction(g)
            self._prev_grad, prev_loss = g.copy(), loss
            lr = self.learning_rate
            # first iteration ever: a step of at most 1/||g||₁ (the gradient's scale is unknown)
            t = min(1.0, 1.0 / np.abs(g).sum()) * lr if self.n_iter == 1 else lr
            gtd = g @ d
            if gtd > -tol_change:  # not a descent direction any more
                break
            if self.line_search == "strong_wolfe":
                x0 = self._params()

                def phi(step):
                    self._set_params(x0 + step * d)
                    f, grad = self._evaluate(closure)
                    return f, grad, grad @ d

                t, loss, g, n = strong_wolfe(phi, loss, g, gtd, t, d, tolerance_change=tol_change)
                self._set_params(x0 + t * d)
            else:
                self._set_params(self._params() + t * d)
                loss, g = self._evaluate(closure)
                n = 1
            self._d, self._t = d, t
            evals += n
            if (k == self.max_iter - 1 or evals >= self.max_eval or np.abs(g).max() <= self.tolerance_grad
                    or np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change):
                break
        self._iterations += 1
        return first_loss

    # ------------------------------------------------------------------ state and config
    def _scalar_state(self):
        return {"h_diag": self._h_diag, "t": self._t, "n_iter": self.n_iter, "func_evals": self.func_evals,
                "history": len(self._s), "has_direction": self._d is not None}

    def get_state(self):
        state, arrays = super().get_state()
        for i, (s, y) in enumerate(zip(self._s, self._y)):
            arrays[f"lbfgs/s_{i}"], arrays[f"lbfgs/y_{i}"] = s.copy(), y.copy()
        if self._d is not None:
            arrays["lbfgs/direction"], arrays["lbfgs/prev_grad"] = self._d.copy(), self._prev_grad.copy()
        return state, arrays

    def set_state(self, state, arrays, variables=None):
        super().set_state(state, arrays, variables)
        if not self.built:
            return
        sc = state.get("scalars") or {}
        self._h_diag, self._t = float(sc.get("h_diag", 1.0)), float(sc.get("t", 0.0))
        self.n_iter, self.func_evals = int(sc.get("n_iter", 0)), int(sc.get("func_evals", 0))
        n = int(sc.get("history", 0))
        self._s = [np.array(arrays[f"lbfgs/s_{i}"], dtype=np.float64) for i in range(n)]
        self._y = [np.array(arrays[f"lbfgs/y_{i}"], dtype=np.float64) for i in range(n)]
        self._rho = [1.0 / (y @ s) for s, y in zip(self._s, self._y)]
        if sc.get("has_direction"):
            self._d = np.array(arrays["lbfgs/direction"], dtype=np.float64)
            self._prev_grad = np.array(arrays["lbfgs/prev_grad"], dtype=np.float64)
        else:
            self._d = self._prev_grad = None

    def get_config(self):
        config = super().get_config()
        config.update({"history_size": self.history_size, "max_iter": self.max_iter, "max_eval": self.max_eval,
                       "tolerance_grad": self.tolerance_grad, "tolerance_change": self.tolerance_change,
                       "line_search": self.line_search})
        return config
