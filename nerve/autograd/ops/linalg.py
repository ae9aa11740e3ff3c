"""Matrix products. For C = A B: dA = dC B^T, dB = A^T dC (batched, with broadcasting of batch axes)."""
import numpy as np

from ..function import Function, unbroadcast


class MatMul(Function):
    name = "matmul"

    def forward(self, a, b):
        sa, sb = a.shape, b.shape
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: arguments must have rank >= 1, got shapes {sa} and {sb} (use multiply)")
        ka = sa[-1]
        kb = sb[-2] if b.ndim >= 2 else sb[0]
        if ka != kb:
            raise ValueError(f"matmul: argument 'x2' expected {'axis -2' if b.ndim >= 2 else 'length'} {ka} "
                             f"to match the last axis of 'x1' {sa}, got shape {sb}")
        self.a, self.b = a, b
        try:
            return a @ b
        except ValueError:
            raise ValueError(f"matmul: batch axes of shapes {sa} and {sb} do not broadcast") from None

    def backward(self, g):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a  # promote vectors to matrices, as NumPy does
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g  # re-insert the axes NumPy dropped for vector operands: n (b 1-D) first, then m (a 1-D)
        if b.ndim == 1:
            g2 = g2[..., None]
        if a.ndim == 1:
            g2 = g2[..., None, :]
        ga = gb = None
        if self.needs[0]:
            ga = g2 @ np.swapaxes(b2, -1, -2)
            ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if self.needs[1]:
            gb = np.swapaxes(a2, -1, -2) @ g2
            gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


def parse_einsum(subscripts, shapes):
    """Explicit form 'ij,jk->ik' of an einsum spec (implicit output and '...' expanded)."""
    s = subscripts.replace(" ", "")
    if "->" in s:
        ins, out = s.split("->")
    else:
        ins, out = s, None
    ins = ins.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(ins)} operands, got {len(shapes)}")
    used = set("".join(ins)) | set(out or "")
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    nell = max((len(sh) - (len(t) - 3) for t, sh in zip(ins, shapes) if "..." in t), default=0)
    ell = "".join(free[:nell])
    new_ins = []
    for t, sh in zip(ins, shapes):
        if "..." in t:
            k = len(sh) - (len(t) - 3)
            t = t.replace("...", ell[nell - k:] if k else "")
        if len(t) != len(sh):
            raise ValueError(f"einsum: operand subscripts {t!r} have {len(t)} indices, but the operand has "
                             f"shape {tuple(sh)}")
        new_ins.append(t)
    if out is None:
        counts = {}
        for c in "".join(new_ins):
            counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return new_ins, out


class Einsum(Function):
    name = "einsum"

    def forward(self, subscripts, *ops):
        self.ins, self.out = parse_einsum(subscripts, [o.shape for o in ops])
        for t in self.ins:
            if len(set(t)) != len(t):
                raise NotImplementedError(f"einsum: repeated index within one operand ({t!r}, a diagonal) "
                                          f"is not differentiable here")
        sizes = {}
        for k, (t, o) in enumerate(zip(self.ins, ops)):
            for c, n in zip(t, o.shape):
                m = sizes.setdefault(c, (n, k))[0]
                if m != n and m != 1 and n != 1:  # size 1 broadcasts (as in NumPy)
                    raise ValueError(f"einsum: index {c!r} has size {sizes[c][0]} in operand {sizes[c][1]} but "
                                     f"size {n} in operand {k} (shape {tuple(o.shape)}); subscripts {subscripts!r}")
        self.ops = ops
        return np.einsum(",".join(self.ins) + "->" + self.out, *ops, optimize=len(ops) > 2)

    def backward(self, g):
        grads = [None]
        for i, (t, x) in enumerate(zip(self.ins, self.ops)):
            if not self.needs[i + 1]:
                grads.append(None)
                continue
            others = [self.ins[j] for j in range(len(self.ops)) if j != i]
            avail = set(self.out).union(*others) if others else set(self.out)
            # indices of operand i summed away on their own (not in output or other operands) broadcast back
            keep = "".join(c for c in t if c in avail)
            spec = ",".join([self.out] + others) + "->" + keep
            gi = np.einsum(spec, g, *[self.ops[j] for j in range(len(self.ops)) if j != i],
                           optimize=len(self.ops) > 2)
            # indices where operand i has size 1 but the others n (einsum broadcasting): sum back to 1
            bc = tuple(j for j, c in enumerate(keep) if x.shape[t.index(c)] == 1 and gi.shape[j] != 1)
            if bc:
                gi = gi.sum(axis=bc, keepdims=True)
            if keep != t:  # keep preserves t's order: insert size-1 axes
                gi = gi.reshape([gi.shape[keep.index(c)] if c in keep else 1 for c in t])
            if gi.shape != x.shape:  # summed-away indices, or size-1 indices of the others: broadcast back
                gi = np.broadcast_to(gi, x.shape).copy()
            grads.append(gi)
        return tuple(grads)
