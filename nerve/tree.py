"""``nerve.tree``: Keras 3's ``keras.tree`` for nested structures of lists, tuples, namedtuples and dicts.
Leaves are everything else (arrays, Tensors, numbers, None). Dicts are walked in sorted key order, as Keras
(optree / dm-tree) does; ``pack_sequence_as`` rebuilds the same types."""


def is_nested(structure):
    return isinstance(structure, (list, tuple, dict))


def _children(x):
    if isinstance(x, dict):
        return [x[k] for k in sorted(x)]
    return list(x)


def _rebuild(template, values):
    if isinstance(template, dict):
        return type(template)((k, v) for k, v in zip(sorted(template), values)) if type(template) is not dict \
            else {k: v for k, v in zip(sorted(template), values)}
    if isinstance(template, tuple) and hasattr(template, "_fields"):  # namedtuple
        return type(template)(*values)
    return type(template)(values)


def flatten(structure):
    """The leaves, depth first (dicts in sorted key order)."""
    if not is_nested(structure):
        return [structure]
    out = []
    for c in _children(structure):
        out.extend(flatten(c))
    return out


def flatten_with_path(structure):
    """(path, leaf) pairs; a path is the tuple of keys / indices from the root."""
    def walk(x, path):
        if not is_nested(x):
            return [(path, x)]
        keys = sorted(x) if isinstance(x, dict) else range(len(x))
        out = []
        for k in keys:
            out.extend(walk(x[k], path + (k,)))
        return out
    return walk(structure, ())


def pack_sequence_as(structure, flat_sequence):
    """``flat_sequence`` put back into the shape of ``structure``."""
    flat = list(flat_sequence)
    n = len(flatten(structure))
    if len(flat) != n:
        raise ValueError(f"pack_sequence_as: the structure has {n} leaves, got a sequence of {len(flat)}")
    it = iter(flat)

    def build(x):
        if not is_nested(x):
            return next(it)
        return _rebuild(x, [build(c) for c in _children(x)])
    return build(structure)


def assert_same_structure(a, b, check_types=True):
    """Raise ValueError unless a and b nest the same way (with check_types, the same container types)."""
    def same(x, y, path):
        if is_nested(x) != is_nested(y):
            raise ValueError(f"assert_same_structure: at {path or 'the root'} one side is a leaf and the other a "
                             f"{type(y if is_nested(y) else x).__name__}")
        if not is_nested(x):
            return
        if check_types and type(x) is not type(y):
            raise ValueError(f"assert_same_structure: at {path or 'the root'} types differ: {type(x).__name__} and "
                             f"{type(y).__name__}")
        if isinstance(x, dict) and sorted(x) != sorted(y):
            raise ValueError(f"assert_same_structure: at {path or 'the root'} dict keys differ: {sorted(x)} and "
                             f"{sorted(y)}")
        if len(x) != len(y):
            raise ValueError(f"assert_same_structure: at {path or 'the root'} lengths differ: {len(x)} and {len(y)}")
        for i, (cx, cy) in enumerate(zip(_children(x), _children(y))):
            same(cx, cy, f"{path}[{i}]")
    same(a, b, "")


def map_structure(func, *structures):
    """func applied leaf by leaf across structures of the same shape; the result keeps that shape."""
    if not structures:
        raise ValueError("map_structure: expected at least one structure")
    for s in structures[1:]:
        assert_same_structure(structures[0], s, check_types=False)
    leaves = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [func(*xs) for xs in zip(*leaves)])


def map_structure_up_to(shallow_structure, func, *structures):
    """func applied to the sub-structures of ``structures`` at the leaves of ``shallow_structure``."""
    def cut(shallow, x):
        if not is_nested(shallow):
            return [x]
        out = []
        for s, c in zip(_children(shallow), _children(x)):
            out.extend(cut(s, c))
        return out
    parts = [cut(shallow_structure, s) for s in structures]
    return pack_sequence_as(shallow_structure, [func(*xs) for xs in zip(*parts)])


def traverse(func, structure, top_down=True):
    """Keras' traverse: top-down, func(node) returning None descends into node, anything else replaces it;
    bottom-up, func sees each node after its children were rebuilt."""
    if top_down:
        r = func(structure)
        if r is not None:
            return r
        if not is_nested(structure):
            return structure
        return _rebuild(structure, [traverse(func, c, True) for c in _children(structure)])
    node = _rebuild(structure, [traverse(func, c, False) for c in _children(structure)]) \
        if is_nested(structure) else structure
    r = func(node)
    return node if r is None else r


def lists_to_tuples(structure):
    if not is_nested(structure):
        return structure
    kids = [lists_to_tuples(c) for c in _children(structure)]
    return tuple(kids) if isinstance(structure, list) else _rebuild(structure, kids)
