"""Shared by the optimizer test files: continuing from a saved optimizer state."""
import json

import numpy as np

from nerve import optimizers


def run(opt, vs, grads):
    for gs in grads:
        opt.apply(gs, vs)
    return vs


def resume_from_state(opt, make_variables, w0, grads, restore, split=4):
    """Run ``opt`` over ``grads[:split]``, save its state (through JSON), go on over the rest; a copy made from its
    config and that state runs the rest too, on variables holding the weights at ``split``. ``restore`` 'pending':
    the state is set before the copy is built (restored at its first apply); 'with_variables': with them.
    Returns (opt, copy, variables, copy's variables): both runs must end bit-identical."""
    vs = make_variables(w0)
    run(opt, vs, grads[:split])
    state, arrays = opt.get_state()
    state = json.loads(json.dumps(state))                       # JSON-friendly
    arrays = {k: np.array(a) for k, a in arrays.items()}
    saved_w = [v.data.copy() for v in vs]
    run(opt, vs, grads[split:])
    fresh = make_variables(saved_w)
    opt2 = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))
    if restore == "pending":
        opt2.set_state(state, arrays)                           # restored when the first apply builds it
    else:
        opt2.set_state(state, arrays, variables=fresh)
    run(opt2, fresh, grads[split:])
    return opt, opt2, vs, fresh
