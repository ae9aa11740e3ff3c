"""``plot_model``: draw a model's layer graph to an image with matplotlib (no Graphviz, no pydot);
``model_to_dot``: the same graph as a pydot.Dot (needs pydot).

The graph comes from the functional nodes (``layer._inbound_nodes``); a model without nodes (a
Sequential built from data) is drawn as a chain of its layers. Each layer sits at the depth of its
longest path from an input; boxes are laid out row by row (``rankdir='TB'``) or column by column ('LR').
"""
import os


def _layer_graph(model):
    """(layers, edges) with edges as (i, j) index pairs into layers."""
    layers = list(getattr(model, "layers", []) or [])
    index = {id(layer): i for i, layer in enumerate(layers)}
    edges = []
    for j, layer in enumerate(layers):
        for node in getattr(layer, "_inbound_nodes", []) or []:
            for t in getattr(node, "inputs", []) or []:
                hist = getattr(t, "_history", None)
                if hist is not None and id(hist[0]) in index:
                    e = (index[id(hist[0])], j)
                    if e not in edges and e[0] != j:
                        edges.append(e)
    if not edges and len(layers) > 1:
        edges = [(i, i + 1) for i in range(len(layers) - 1)]
    return layers, edges


def _fmt_shape(get):
    try:
        s = get()
    except Exception:  # a layer not called symbolically has no recorded shape
        return "?"
    if isinstance(s, list):
        return ", ".join(_fmt_shape(lambda v=v: v) for v in s)
    return "(" + ", ".join("None" if d is None else str(d) for d in s) + ")"


def _label(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable):
    cls = type(layer).__name__
    lines = [f"{layer.name} ({cls})" if show_layer_names else cls]
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        act = layer.activation
        lines.append("activation: " + str(getattr(act, "__name__", act)))
    if show_dtype:
        lines.append(f"dtype: {getattr(layer, 'dtype', '?')}")
    if show_shapes:
        shape_in = _fmt_shape(lambda: layer.input_shape)
        if shape_in:  # an InputLayer has no input
            lines.append("in: " + shape_in)
        lines.append("out: " + _fmt_shape(lambda: layer.output_shape))
    if show_trainable:
        lines.append("trainable: " + ("yes" if layer.trainable else "no"))
    return "\n".join(lines)


def _depths(n, edges):
    depth = [0] * n
    for _ in range(n):  # longest-path relaxation; the graph is a DAG
        changed = False
        for i, j in edges:
            if depth[j] < depth[i] + 1:
                depth[j] = depth[i] + 1
                changed = True
        if not changed:
            break
    return depth


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False, show_trainable=False,
               **kwargs):
    """Draw ``model`` to ``to_file`` (PNG, SVG or PDF by extension) with matplotlib; Keras signature.

    Needs matplotlib (``pip install nerve[plot]``); Graphviz and pydot are not used.
    ``expand_nested`` is accepted for compatibility: nested models are drawn as one box.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import FancyBboxPatch
    except ImportError as e:
        raise ImportError("plot_model: matplotlib is required to draw the model (pip install matplotlib, or "
                          "pip install 'nerve[plot]'); Graphviz is not needed") from e
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"plot_model: argument 'rankdir' expected 'TB' or 'LR', got {rankdir!r}")
    layers, edges = _layer_graph(model)
    if not layers:
        raise ValueError(f"plot_model: model {getattr(model, 'name', model)!r} has no layers to draw")
    labels = [_label(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
              for layer in layers]
    depth = _depths(len(layers), edges)
    rows = {}
    for i, d in enumerate(depth):
        rows.setdefault(d, []).append(i)
    width = max(len(r) for r in rows.values())
    nlines = max(label.count("\n") + 1 for label in labels)
    longest = max(len(line) for label in labels for line in label.split("\n"))
    box_w, box_h = max(2.0, 0.11 * longest), 0.3 + 0.22 * nlines
    gap_w, gap_h = 0.5, 0.6
    pos = {}
    for d, idx in rows.items():
        for k, i in enumerate(idx):
            along = (k - (len(idx) - 1) / 2) * (box_w + gap_w)
            across = -d * (box_h + gap_h)
            pos[i] = (along, across) if rankdir == "TB" else (d * (box_w + gap_w), -(k - (len(idx) - 1) / 2) *
                                                              (box_h + gap_h))
    nd = max(depth) + 1
    if rankdir == "TB":
        fig_w, fig_h = width * (box_w + gap_w) + 0.5, nd * (box_h + gap_h) + 0.3
    else:
        fig_w, fig_h = nd * (box_w + gap_w) + 0.5, width * (box_h + gap_h) + 0.3
    # a bare Figure on the Agg canvas: no pyplot, so the user's backend and open figures are untouched
    fig = Figure(figsize=(min(fig_w, 60), min(fig_h, 200)))
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_axis_off()
    for i, label in enumerate(labels):
        x, y = pos[i]
        ax.add_patch(FancyBboxPatch((x - box_w / 2, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02", fc="#eef3fb", ec="#33415c", lw=1))
        ax.text(x, y, label, ha="center", va="center", fontsize=8, family="monospace")
    for i, j in edges:
        (x0, y0), (x1, y1) = pos[i], pos[j]
        if rankdir == "TB":
            start, end = (x0, y0 - box_h / 2), (x1, y1 + box_h / 2)
        else:
            start, end = (x0 + box_w / 2, y0), (x1 - box_w / 2, y1)
        ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", color="#33415c", lw=1))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - box_w / 2 - 0.2, max(xs) + box_w / 2 + 0.2)
    ax.set_ylim(min(ys) - box_h / 2 - 0.2, max(ys) + box_h / 2 + 0.2)
    d = os.path.dirname(os.path.abspath(to_file))
    os.makedirs(d, exist_ok=True)
    fig.savefig(to_file, dpi=dpi)
    return None


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False, show_trainable=False,
                 splines="ortho", **kwargs):
    """``model``'s layer graph as a ``pydot.Dot`` (a ``pydot.Cluster`` with ``subgraph=True``), as
    ``keras.utils.model_to_dot``: one node per layer, labelled as plot_model labels its boxes, one edge per
    connection. Needs pydot (``pip install pydot``); rendering it needs Graphviz. ``expand_nested`` is accepted
    for compatibility: nested models are one node."""
    try:
        import pydot
    except ImportError as e:
        raise ImportError("model_to_dot: pydot is required to build the graph (pip install pydot; rendering it also "
                          "needs Graphviz); plot_model draws the model with matplotlib alone") from e
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"model_to_dot: argument 'rankdir' expected 'TB' or 'LR', got {rankdir!r}")
    layers, edges = _layer_graph(model)
    if not layers:
        raise ValueError(f"model_to_dot: model {getattr(model, 'name', model)!r} has no layers")
    if subgraph:
        name = getattr(model, "name", "model")
        dot = pydot.Cluster(style="dashed", graph_name=name, label=name)
    else:
        dot = pydot.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
    dot.set_node_defaults(shape="box")
    for layer in layers:
        label = _label(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
        dot.add_node(pydot.Node(str(id(layer)), label=label))
    for i, j in edges:
        dot.add_edge(pydot.Edge(str(id(layers[i])), str(id(layers[j]))))
    return dot
