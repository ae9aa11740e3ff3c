"""``model.summary()``: Keras 3's table (drawn as the ``rich`` library draws it, without needing rich).

Columns: "Layer (type)", "Output Shape", "Param #" (+ "Connected to" for graphs that are not a plain
chain, + "Trainable" with show_trainable). Totals: "Total params", "Trainable params",
"Non-trainable params" with the weights' memory size in 1024-based units ("407,050 (1.55 MB)"), and
"Optimizer params" once the optimizer has created its slots (Keras counts those in the total).
"""
import math
import re
import shutil
import sys

import numpy as np


def count_params(weights):
    return int(sum(math.prod(w.shape) for w in weights))


def weight_memory_size(weights):
    unique = {id(w): w for w in weights}.values()
    return sum(math.prod(w.shape) * np.dtype(w.dtype).itemsize for w in unique)


def readable_memory_size(size):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size / 1024 < 1:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


def _fmt_shape(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def format_layer_shape(layer):
    nodes = getattr(layer, "_inbound_nodes", [])
    if nodes:
        outs = nodes[-1].outputs
        shapes = [_fmt_shape(t.shape) for t in outs]
        return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"
    if getattr(layer, "_build_shapes", None) is not None:
        try:
            shape = layer.compute_output_shape(layer._build_shapes)
        except Exception:  # noqa: BLE001 - an unknown shape is shown as '?', as Keras does
            return "?"
        if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
            return "[" + ", ".join(_fmt_shape((None,) + tuple(s[1:])) for s in shape) + "]"
        return _fmt_shape((None,) + tuple(shape[1:]))
    return "?"


def _ratio_reduce(total, ratios, maximums, values):
    """rich's ratio_reduce: take ``total`` cells away from ``values`` in proportion to ``ratios``."""
    ratios = [r if m else 0 for r, m in zip(ratios, maximums)]
    total_ratio = sum(ratios)
    if not total_ratio:
        return list(values)
    remaining, out = total, []
    for r, m, v in zip(ratios, maximums, values):
        if r and total_ratio > 0:
            d = min(m, round(r * remaining / total_ratio))
            out.append(v - d)
            remaining -= d
            total_ratio -= r
        else:
            out.append(v)
    return out


def _wrap(text, width):
    text = str(text)
    if len(text) <= width:
        return [text]
    lines, cur = [], ""
    for word in re.split(r"(?<=[ ,])", text):
        while len(word) > width:  # fold over-long words
            if cur:
                lines.append(cur)
                cur = ""
            lines.append(word[:width])
            word = word[width:]
        if len(cur) + len(word) > width:
            lines.append(cur.rstrip())
            cur = word
        else:
            cur += word
    if cur:
        lines.append(cur.rstrip())
    return lines or [""]


def _cell(text, width, align):
    if align == "right":
        return text.rjust(width)
    if align == "center":
        return text.center(width)
    return text.ljust(width)


def render_table(header, rows, widths, aligns, line_length):
    """Draw the table as rich does with box.HEAVY_HEAD, show_lines=True and padding (0, 1)."""
    cols = [w + 2 for w in widths]  # rich adds the padding to a fixed column width
    max_width = line_length - (len(cols) + 1)
    if sum(cols) > max_width:
        cols = _ratio_reduce(sum(cols) - max_width, [1] * len(cols), cols, cols)
    inner = [max(1, c - 2) for c in cols]

    def rule(left, mid, right, ch):
        return left + mid.join(ch * c for c in cols) + right

    def row_lines(cells, sep):
        wrapped = [_wrap(c, w) for c, w in zip(cells, inner)]
        height = max(len(w) for w in wrapped)
        out = []
        for i in range(height):
            parts = [" " + _cell(w[i] if i < len(w) else "", iw, a) + " " for w, iw, a in zip(wrapped, inner, aligns)]
            out.append(sep + sep.join(parts) + sep)
        return out

    lines = [rule("┏", "┳", "┓", "━")]
    lines += row_lines(header, "┃")
    lines.append(rule("┡", "╇", "┩", "━"))
    for i, r in enumerate(rows):
        if i:
            lines.append(rule("├", "┼", "┤", "─"))
        lines += row_lines(r, "│")
    lines.append(rule("└", "┴", "┘", "─"))
    return lines


def _is_sequential_like(model):
    from .functional import Functional
    from .sequential import Sequential
    if isinstance(model, Sequential) or not isinstance(model, Functional):
        return True
    by_depth = {}
    for n in model._nodes:
        by_depth.setdefault(model._node_depth[id(n)], []).append(n)
    for nodes in by_depth.values():
        if len(nodes) > 1 or (len(nodes) == 1 and len(nodes[0].inputs) > 1):
            return False
    for layer in model.layers:  # a shared layer makes it a graph
        if sum(any(n is m for m in model._nodes) for n in layer._inbound_nodes) > 1:
            return False
    return True


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False, layer_range=None):
    from .functional import Functional
    if not model.built:
        raise ValueError(f"{type(model).__name__} '{model.name}': this model has not yet been built. Build it first "
                         f"by calling build(input_shape), by calling it on a batch of data, or by giving its first "
                         f"layer an input shape (or starting it with nerve.Input)")
    sequential_like = _is_sequential_like(model)
    layers = model.layers
    relevant = list(model._nodes) if isinstance(model, Functional) else []
    if sequential_like:
        default_length, positions = 88, positions or [0.45, 0.80, 1.0]
        header, aligns = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        aligns = ["left", "left", "right", "left"]
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        aligns.append("center")
    default_length = min(default_length, shutil.get_terminal_size().columns - 4)
    line_length = line_length or default_length
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    widths, current = [], 0
    for pos in positions:
        w = int(pos) - current
        if w < 4:
            raise ValueError("summary: insufficient line_length to print the summary")
        widths.append(w)
        current += w

    def connections(layer):
        out = []
        for node in layer._inbound_nodes:
            if relevant and not any(node is n for n in relevant):
                continue
            for t in node.inputs:
                src, src_node, idx = t._history
                out.append(f"{src.name}[{src._inbound_nodes.index(src_node)}][{idx}]")
        return ", ".join(out) or "-"

    def fields(layer, prefix=""):
        name = f"{prefix}{layer.name} ({type(layer).__name__})"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        row = [name, format_layer_shape(layer), params]
        if not sequential_like:
            row.append(connections(layer))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        return row

    def layer_rows(layer, level=0):
        rows = [fields(layer, "   " * level + "└ " if level else "")]
        if expand_nested and getattr(layer, "layers", None) and hasattr(layer, "summary"):
            for sub in layer.layers:
                rows.extend(layer_rows(sub, level + 1))
        return rows

    lo, hi = 0, len(layers)
    if layer_range is not None:
        lows = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
        highs = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
        if not lows or not highs:
            raise ValueError(f"summary: layer_range {layer_range} matches no layer names")
        lo, hi = min(lows), max(highs) + 1
    rows = [r for layer in layers[lo:hi] for r in layer_rows(layer)]

    tw, ntw = model.trainable_weights, model.non_trainable_weights
    trainable, non_trainable = count_params(tw), count_params(ntw)
    t_mem, nt_mem = weight_memory_size(tw), weight_memory_size(ntw)
    opt = getattr(model, "optimizer", None)
    opt_vars = list(opt.variables) if getattr(model, "compiled", False) and opt is not None and \
        getattr(opt, "built", False) else None
    o_count = count_params(opt_vars) if opt_vars else 0
    o_mem = weight_memory_size(opt_vars) if opt_vars else 0
    lines = [f'Model: "{model.name}"']
    lines += render_table(header, rows, widths, aligns, line_length)
    lines.append(f" Total params: {trainable + non_trainable + o_count:,} "
                 f"({readable_memory_size(t_mem + nt_mem + o_mem)})")
    lines.append(f" Trainable params: {trainable:,} ({readable_memory_size(t_mem)})")
    lines.append(f" Non-trainable params: {non_trainable:,} ({readable_memory_size(nt_mem)})")
    if opt_vars is not None:
        lines.append(f" Optimizer params: {o_count:,} ({readable_memory_size(o_mem)})")
    text = "\n".join(lines)
    if print_fn is not None:
        print_fn(text)
        return
    out = sys.stdout
    try:
        out.write(text + "\n")
    except UnicodeEncodeError:  # a console that cannot show box-drawing characters
        out.write(text.translate(str.maketrans("┏┳┓┃┡╇┩│├┼┤└┴┘━─", "+++|+++|+++++++-")) + "\n")
    out.flush()
