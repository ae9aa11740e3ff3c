"""``nerve.tree``: Keras 3's ``keras.tree`` for nested structures of lists, tuples, namedtuples and dicts.
Leaves are everything else (arrays, Tensors, numbers, None). Dicts are walked in sorted key order, as Keras
(optree / dm-tree) does; ``pack_sequence_as`` rebuilds the same types."""


class MAP_TO_NONE:  # noqa: N801 - Keras' name
    """Return this class from ``traverse``'s function to put None in place of a sub-structure (returning None
    itself means "no change")."""


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
    bottom-up, func sees each node after its children were rebuilt. Returning ``MAP_TO_NONE`` puts None there."""
    if top_down:
        r = func(structure)
        if r is None:
            if not is_nested(structure):
                return structure
            return _rebuild(structure, [traverse(func, c, True) for c in _children(structure)])
    else:
        node = _rebuild(structure, [traverse(func, c, False) for c in _children(structure)]) \
            if is_nested(structure) else structure
        r = func(node)
        if r is None:
            return node
    return None if r is MAP_TO_NONE else r


def lists_to_tuples(structure):
    if not is_nested(structure):
        return structure
    kids = [lists_to_tuples(c) for c in _children(structure)]
    return tuple(kids) if isinstance(structure, list) else _rebuild(structure, kids)


def assert_same_paths(a, b):
    """Raise ValueError unless ``a`` and ``b`` have the same leaf paths (keys and indices), whatever their
    container types: ``[0, 1]`` and ``(2, 3)`` match, as do two namedtuples with the same number of fields."""
    a_paths = {p for p, _ in flatten_with_path(a)}
    b_paths = {p for p, _ in flatten_with_path(b)}
    if a_paths != b_paths:
        msg = "assert_same_paths: `a` and `b` don't have the same paths."
        if a_paths - b_paths:
            msg += f"\nPaths in `a` missing in `b`:\n{sorted(a_paths - b_paths, key=repr)}"
        if b_paths - a_paths:
            msg += f"\nPaths in `b` missing in `a`:\n{sorted(b_paths - a_paths, key=repr)}"
        raise ValueError(msg)


def _is_shape(x):
    return isinstance(x, (list, tuple)) and all(d is None or isinstance(d, int) for d in x)


def map_shape_structure(func, structure):
    """``map_structure`` for shapes: a list or tuple of ints and Nones (``(None, 3)``, ``()``) is one leaf passed
    to ``func`` whole; other leaves (numbers, None) are passed too."""
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    return _rebuild(structure, [map_shape_structure(func, c) for c in _children(structure)])
