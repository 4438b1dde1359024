"""Fewer, larger nodes: the Reshapes tf2onnx leaves around every Dense layer folded away, and each Dense's bias
moved into a Gemm.

tf2onnx lowers a Dense over [1, K, C] as Reshape [K, C] -> MatMul -> Reshape [1, K, M] -> Add bias, and the next
Dense reshapes back to [K, M]. ONNX Runtime's own optimizer leaves all of these in place (13 Reshapes in the
default fp32 graph at every optimization level), and at this model's size a node costs about as much as its
arithmetic (0.4 µs a node in ONNX Runtime against 0.06 in LiteRT on the build host: studies/runtime_floor.py).
Eight rewrites, repeated until none applies, each computing the same values:

  reshape chain     Reshape(Reshape(x, a), b)       -> Reshape(x, b)       (the inner one used only there)
  no-op reshape     Reshape(x, s) with shape(x) == s -> x
  elementwise first op(Reshape(x, s))               -> Reshape(op(x), s)    op: Relu, or +-*/ a scalar constant
  into the table    op(Gather(T, i))                -> Gather(op(T), i)    T constant, op +-*/ a scalar constant
  bias into Gemm    Add(Reshape(MatMul(X, W), s), B) -> Reshape(Gemm(X, W, B'), s)   X: [N, C], W constant [C, M],
                    B broadcasts as a row [M] or [1, M] (a constant, or a tensor of static shape [1, ..., 1, M])
  one row           Reshape(Slice(x, i:i+1 on axis a), s) -> Gather(x, i, axis=a)    s: shape(x) without axis a
  gathers apart     Slice(Gather(T, Concat(a, b, ...)), one part) -> Gather(T, that part)   T constant, every user
                    of the Gather a Slice of exactly one part (the item table looked up once for the history and
                    the candidates, then cut apart again)
  output as a row   Reshape(Gemm(X, W, b), [1, N]) -> Gemm(W', X, b, transB=1)   X: [N, C], W constant [C, 1],
                    W' = W transposed [1, C], b of one value (the same C products summed, as a row)

Shapes come from ONNX shape inference; a node whose shapes are not static is left alone.
"""

from __future__ import annotations

import numpy as np


def simplify(model) -> int:
    """Rewrites the graph in place; returns how many nodes it removed."""
    before = len(model.graph.node)
    while _one_pass(model):
        pass
    _drop_unused(model.graph)
    return before - len(model.graph.node)


class _Graph:
    def __init__(self, model):
        import onnx
        from onnx import numpy_helper

        self.model, self.graph = model, model.graph
        inferred = onnx.shape_inference.infer_shapes(model)
        self.shapes = {}
        for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
            dims = v.type.tensor_type.shape.dim
            if v.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                self.shapes[v.name] = tuple(d.dim_value for d in dims)
        self.consts = {i.name: numpy_helper.to_array(i) for i in self.graph.initializer}
        for name, value in self.consts.items():
            self.shapes[name] = value.shape
        self.producer = {o: n for n in self.graph.node for o in n.output}
        self.users: dict[str, list] = {}
        for n in self.graph.node:
            for i in n.input:
                self.users.setdefault(i, []).append(n)
        self.outputs = {o.name for o in self.graph.output}

    def only_user(self, tensor: str, node) -> bool:
        return tensor not in self.outputs and [n.output[0] for n in self.users.get(tensor, [])] == [node.output[0]]

    def made_by(self, tensor: str, op: str):
        node = self.producer.get(tensor)
        return node if node is not None and node.op_type == op else None

    def target_shape(self, reshape) -> tuple[int, ...] | None:
        """The static output shape of a Reshape, -1 and 0 resolved."""
        return self.shapes.get(reshape.output[0])

    def add_const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.graph.initializer.append(numpy_helper.from_array(value, name))
        self.consts[name] = value
        return name

    def replace_uses(self, old: str, new: str) -> None:
        for n in self.graph.node:
            n.input[:] = [new if i == old else i for i in n.input]


def _one_pass(model) -> bool:
    g = _Graph(model)
    for node in g.graph.node:
        for rewrite in (_reshape_chain, _noop_reshape, _bias_into_gemm, _elementwise_first,
                        _into_table, _one_row, _gathers_apart, _output_as_row):
            if rewrite(g, node):
                return True
    return False


def _reshape_chain(g: _Graph, node) -> bool:
    if node.op_type != "Reshape":
        return False
    inner = g.made_by(node.input[0], "Reshape")
    if inner is None or not g.only_user(inner.output[0], node):
        return False
    node.input[0] = inner.input[0]
    g.graph.node.remove(inner)
    return True


def _noop_reshape(g: _Graph, node) -> bool:
    if node.op_type != "Reshape" or node.output[0] in g.outputs:
        return False
    source, target = g.shapes.get(node.input[0]), g.target_shape(node)
    if source is None or source != target:
        return False
    g.replace_uses(node.output[0], node.input[0])
    g.graph.node.remove(node)
    return True


_SCALAR_OPS = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}


def _operand(g: _Graph, node) -> int | None:
    """Which input of an elementwise node carries the tensor (the other being a scalar constant), or None."""
    if node.op_type == "Relu":
        return 0
    if node.op_type in _SCALAR_OPS:
        for side in (0, 1):
            other = node.input[1 - side]
            if other in g.consts and g.consts[other].size == 1:
                return side
    return None


def _elementwise_first(g: _Graph, node) -> bool:
    side = _operand(g, node)
    reshape = None if side is None else g.made_by(node.input[side], "Reshape")
    if reshape is None or not g.only_user(reshape.output[0], node):
        return False
    # x -> Reshape -> r -> op -> y   becomes   x -> op -> r -> Reshape -> y
    x, r, y = reshape.input[0], reshape.output[0], node.output[0]
    node.input[side], node.output[0] = x, r
    reshape.input[0], reshape.output[0] = r, y
    nodes = [n for n in g.graph.node if n.output[0] != r]
    nodes.insert(next(i for i, n in enumerate(nodes) if n.output[0] == y), node)  # keep a topological order
    del g.graph.node[:]
    g.graph.node.extend(nodes)
    return True


def _into_table(g: _Graph, node) -> bool:
    side = _operand(g, node)
    gather = None if side is None or node.op_type == "Relu" else g.made_by(node.input[side], "Gather")
    if gather is None or gather.input[0] not in g.consts or not g.only_user(gather.output[0], node):
        return False
    table, scalar = g.consts[gather.input[0]], g.consts[node.input[1 - side]].reshape(())
    if table.dtype.kind != "f" or scalar.dtype != table.dtype:
        return False
    args = (table, scalar) if side == 0 else (scalar, table)
    gather.input[0] = g.add_const(f"{gather.input[0]}_{node.op_type.lower()}", _SCALAR_OPS[node.op_type](*args))
    g.replace_uses(node.output[0], gather.output[0])
    g.graph.node.remove(node)
    return True


def _bias_into_gemm(g: _Graph, node) -> bool:
    import onnx

    if node.op_type != "Add":
        return False
    for side in (0, 1):
        reshape = g.made_by(node.input[side], "Reshape")
        matmul = reshape is not None and g.made_by(reshape.input[0], "MatMul")
        if not matmul or not g.only_user(reshape.output[0], node) or not g.only_user(matmul.output[0], reshape):
            continue
        x, w = matmul.input
        if w not in g.consts or g.consts[w].ndim != 2 or len(g.shapes.get(x, ())) != 2:
            continue
        m = g.consts[w].shape[1]
        bias = node.input[1 - side]
        if g.shapes.get(node.output[0]) != g.shapes.get(reshape.output[0]):
            continue  # the Add broadcasts the product itself: not a bias
        shape = g.shapes.get(bias)
        if shape is None or int(np.prod(shape)) != m or (len(shape) and shape[-1] != m):
            continue
        made = []
        if bias in g.consts:
            c = g.add_const(f"{bias}_row", g.consts[bias].reshape(m))
        else:  # a row computed in the graph (e.g. the request's hidden layer): one cheap Reshape to [1, M]
            c = f"{bias}_row"
            target = g.add_const(f"{bias}_row_shape", np.array([1, m], dtype=np.int64))
            made.append(onnx.helper.make_node("Reshape", [bias, target], [c]))
        made.append(onnx.helper.make_node("Gemm", [x, w, c], [matmul.output[0]]))
        # where the Add was: every input of the new nodes exists by then, and its users all come later
        gone = {matmul.output[0], reshape.output[0]}  # (output names are unique: they name the nodes)
        nodes = [n for n in g.graph.node if n.output[0] not in gone]
        at = next(i for i, n in enumerate(nodes) if n.output[0] == node.output[0])
        reshape.output[0] = node.output[0]
        nodes[at:at + 1] = [*made, reshape]
        del g.graph.node[:]
        g.graph.node.extend(nodes)
        return True
    return False


def _slice_range(g: _Graph, node) -> tuple[int, int, int] | None:
    """(axis, start, end) of a Slice that cuts one axis with step 1 and keeps every other whole; else None."""
    if node.op_type != "Slice" or any(i not in g.consts for i in node.input[1:] if i):
        return None
    shape = g.shapes.get(node.input[0])
    if shape is None:
        return None
    starts, ends = g.consts[node.input[1]].tolist(), g.consts[node.input[2]].tolist()
    axes = g.consts[node.input[3]].tolist() if len(node.input) > 3 and node.input[3] else list(range(len(starts)))
    if len(node.input) > 4 and node.input[4] and any(step != 1 for step in g.consts[node.input[4]].tolist()):
        return None
    cut = []
    for axis, start, end in zip(axes, starts, ends):
        axis, dim = axis % len(shape), shape[axis % len(shape)]
        start, end = (start + dim if start < 0 else start), (end + dim if end < 0 else end)
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
        if (start, end) != (0, dim):
            cut.append((axis, start, end))
    return cut[0] if len(cut) == 1 else None


def _replace(g: _Graph, gone: list, made: list, at) -> None:
    """`made` where `at` was (every input of theirs exists by then), `gone` removed."""
    names = {n.output[0] for n in gone}
    nodes = []
    for n in g.graph.node:
        if n.output[0] == at.output[0]:
            nodes.extend(made)
        if n.output[0] not in names:
            nodes.append(n)
    del g.graph.node[:]
    g.graph.node.extend(nodes)


def _one_row(g: _Graph, node) -> bool:
    import onnx

    if node.op_type != "Reshape":
        return False
    cut = g.made_by(node.input[0], "Slice")
    picked = None if cut is None or not g.only_user(cut.output[0], node) else _slice_range(g, cut)
    if picked is None or picked[2] - picked[1] != 1:
        return False
    axis, index, _ = picked
    source = g.shapes[cut.input[0]]
    if g.target_shape(node) != source[:axis] + source[axis + 1:]:
        return False
    at = g.add_const(f"{cut.input[0]}_row_{index}", np.array(index, dtype=np.int64))
    _replace(g, [cut, node], [onnx.helper.make_node("Gather", [cut.input[0], at], [node.output[0]], axis=axis)], cut)
    return True


def _gathers_apart(g: _Graph, node) -> bool:
    import onnx

    attrs = {a.name: a.i for a in node.attribute}
    concat = g.made_by(node.input[1], "Concat") if node.op_type == "Gather" else None
    if concat is None or attrs.get("axis", 0) != 0 or node.input[0] not in g.consts \
            or not g.only_user(concat.output[0], node) or node.output[0] in g.outputs:
        return False
    rank = len(g.shapes.get(concat.output[0], ()))
    axis = next(a.i for a in concat.attribute if a.name == "axis") % max(rank, 1)
    parts, offset = {}, 0
    for part in concat.input:
        if part not in g.shapes:
            return False
        parts[(offset, offset + g.shapes[part][axis])] = part
        offset += g.shapes[part][axis]
    users = g.users.get(node.output[0], [])
    cuts = [_slice_range(g, u) for u in users]
    if not users or any(c is None or c[0] != axis or c[1:] not in parts for c in cuts):
        return False
    made = [onnx.helper.make_node("Gather", [node.input[0], parts[c[1:]]], [u.output[0]], axis=0)
            for u, c in zip(users, cuts)]
    _replace(g, [concat, node, *users], made, concat)
    return True


def _output_as_row(g: _Graph, node) -> bool:
    import onnx

    gemm = g.made_by(node.input[0], "Gemm") if node.op_type == "Reshape" else None
    if gemm is None or not g.only_user(gemm.output[0], node):
        return False
    attrs = {a.name: (a.f if a.type == onnx.AttributeProto.FLOAT else a.i) for a in gemm.attribute}
    if attrs.get("transA", 0) or attrs.get("transB", 0) or attrs.get("alpha", 1.0) != 1.0 \
            or attrs.get("beta", 1.0) != 1.0:
        return False
    x, w = gemm.input[0], gemm.input[1]
    bias = gemm.input[2] if len(gemm.input) > 2 and gemm.input[2] else None
    if w not in g.consts or g.consts[w].shape[1:] != (1,) or len(g.shapes.get(x, ())) != 2 \
            or (bias is not None and (bias not in g.consts or g.consts[bias].size != 1)):
        return False
    n = g.shapes[x][0]
    if g.target_shape(node) != (1, n):
        return False
    row = g.add_const(f"{w}_row", np.ascontiguousarray(g.consts[w].T))
    inputs = [row, x] + ([g.add_const(f"{bias}_one", g.consts[bias].reshape(1))] if bias else [])
    _replace(g, [gemm, node], [onnx.helper.make_node("Gemm", inputs, [node.output[0]], transB=1)], gemm)
    return True


def _drop_unused(graph) -> None:
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
