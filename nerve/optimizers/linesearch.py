"""Strong-Wolfe line search (Nocedal & Wright, Numerical Optimization, Alg. 3.5 and zoom Alg. 3.6).

Find a step t along the descent direction d with
    sufficient decrease  f(t) <= f(0) + c1 t f'(0)
    curvature            |f'(t)| <= c2 |f'(0)|          (f'(t) = ∇f(x + t d) · d)
Trial steps come from the minimiser of the cubic through two points' values and slopes (N&W eq. 3.59).
"""
import math


def cubic_minimizer(a, fa, ga, b, fb, gb, lo, hi):
    """Minimiser of the cubic interpolating (a, fa, fa'=ga) and (b, fb, gb), clipped to [lo, hi]."""
    if a == b:
        return (lo + hi) / 2
    d1 = ga + gb - 3.0 * (fa - fb) / (a - b)
    disc = d1 * d1 - ga * gb
    if disc < 0:
        return (lo + hi) / 2
    d2 = math.copysign(math.sqrt(disc), b - a)
    denom = gb - ga + 2.0 * d2
    x = b - (b - a) * (gb + d2 - d1) / denom if denom != 0 else (lo + hi) / 2
    if not math.isfinite(x):
        return (lo + hi) / 2
    return min(max(x, lo), hi)


def strong_wolfe(phi, f0, g0, gtd0, t, d, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_evals=25):
    """Search t > 0. ``phi(t)`` evaluates the objective at x + t d and returns (f, grad, grad·d).

    Returns ``(t, f, grad, evaluations)``; when the conditions are not met within ``max_evals`` it returns
    the best point found that satisfies sufficient decrease (possibly t = 0, i.e. no move).
    """
    d_scale = float(abs(d).max())
    prev = (0.0, f0, g0, gtd0)
    evals = 0
    lo = hi = None
    while evals < max_evals:
        f, g, gtd = phi(t)
        evals += 1
        cur = (t, f, g, gtd)
        if f > f0 + c1 * t * gtd0 or (evals > 1 and f >= prev[1]):
            lo, hi = prev, cur                       # minimum bracketed between prev (lower f) and cur
            break
        if abs(gtd) <= -c2 * gtd0:
            return t, f, g, evals                    # strong Wolfe conditions hold
        if gtd >= 0:
            lo, hi = cur, prev                       # slope turned positive: bracket [prev, cur]
            break
        # still descending: extrapolate, at least 1% further and at most 10x
        t_next = cubic_minimizer(prev[0], prev[1], prev[3], t, f, gtd, t + 0.01 * (t - prev[0]), 10.0 * t)
        prev, t = cur, t_next
    else:
        return t, f, g, evals
    # zoom: shrink [lo, hi] keeping lo the best point that satisfies sufficient decrease
    while evals < max_evals and abs(hi[0] - lo[0]) * d_scale >= tolerance_change:
        left, right = min(lo[0], hi[0]), max(lo[0], hi[0])
        margin = 0.1 * (right - left)                # stay inside so the interval shrinks by >= 10%
        t = cubic_minimizer(lo[0], lo[1], lo[3], hi[0], hi[1], hi[3], left + margin, right - margin)
        f, g, gtd = phi(t)
        evals += 1
        cur = (t, f, g, gtd)
        if f > f0 + c1 * t * gtd0 or f >= lo[1]:
            hi = cur
        else:
            if abs(gtd) <= -c2 * gtd0:
                return t, f, g, evals
            if gtd * (hi[0] - lo[0]) >= 0:
                hi = lo
            lo = cur
    return lo[0], lo[1], lo[2], evals
