"""See the graph behind a tensor: as a terminal tree, as Graphviz DOT, or rendered to a file.

    loss = model(x).sum()
    print(microtorch.viz.to_text(loss, params=model.named_parameters()))
    microtorch.viz.render(loss, "graph.svg", params=model.named_parameters())

Nodes are the recorded ops (`grad_fn`s such as `AddmmBackward0`) with their output shape
and dtype; leaves are the tensors that require grad, named when `params` is given.
"""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable

from ._tensor import Tensor
from .autograd.node import AccumulateGrad, Node


def _names(params) -> dict:
    if params is None:
        return {}
    return {id(p): name for name, p in (params.items() if isinstance(params, dict) else params)}


def _label(node: Node, names: dict) -> str:
    shape = tuple(node._shape)
    dtype = str(node._dtype)
    if isinstance(node, AccumulateGrad):
        name = names.get(id(node.variable))
        head = f"{name} " if name else "leaf "
        return f"{head}{shape} {dtype} requires_grad"
    return f"{node.name()} -> {shape} {dtype}"


def to_text(t: Tensor, params: Iterable | dict | None = None) -> str:
    """The graph that produced `t` as an indented tree (shared nodes are shown once, then
    referred to by their number)."""
    if t.grad_fn is None:
        return f"leaf {tuple(t.shape)} {t.dtype.name}" + (
            " requires_grad" if t.requires_grad else " (no graph)")
    names = _names(params)
    numbers: dict = {}
    lines: list[str] = []
    stack = [(t.grad_fn, 0)]
    while stack:
        node, depth = stack.pop()
        pad = "  " * depth + ("└─ " if depth else "")
        if node in numbers:
            lines.append(f"{pad}(see #{numbers[node]})")
            continue
        numbers[node] = len(numbers) + 1
        lines.append(f"{pad}#{numbers[node]} {_label(node, names)}")
        for nxt, _ in reversed(node.next_functions):
            if nxt is not None:
                stack.append((nxt, depth + 1))
    return "\n".join(lines)


def to_dot(t: Tensor, params: Iterable | dict | None = None) -> str:
    """Graphviz DOT source of the graph behind `t` (ops as boxes, leaves as ellipses;
    edges point from inputs to the op that used them)."""
    names = _names(params)
    lines = ["digraph microtorch {", '  rankdir="BT";', '  node [fontname="Helvetica"];']
    ids: dict = {}
    out_id = "out"
    lines.append(f'  {out_id} [label="output {tuple(t.shape)} {t.dtype.name}", shape=note];')
    if t.grad_fn is None:
        lines.append("}")
        return "\n".join(lines)
    stack = [t.grad_fn]
    ids[t.grad_fn] = "n0"
    while stack:
        node = stack.pop()
        nid = ids[node]
        label = _label(node, names).replace('"', '\\"')
        if isinstance(node, AccumulateGrad):
            lines.append(f'  {nid} [label="{label}", shape=ellipse, style=filled, '
                         'fillcolor="#cfe8ff"];')
        else:
            lines.append(f'  {nid} [label="{label}", shape=box];')
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            if nxt not in ids:
                ids[nxt] = f"n{len(ids)}"
                stack.append(nxt)
            lines.append(f"  {ids[nxt]} -> {nid};")
    lines.append(f"  n0 -> {out_id};")
    lines.append("}")
    return "\n".join(lines)


def render(t: Tensor, path: str, params: Iterable | dict | None = None) -> str:
    """Write the graph as SVG or PNG (by `path`'s extension) with Graphviz's `dot`.

    Raises RuntimeError with an install hint when the Graphviz program is missing.
    """
    fmt = path.rsplit(".", 1)[-1].lower() if "." in path else "svg"
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"render: unsupported format '.{fmt}' (use .svg, .png or .pdf)")
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "render needs the Graphviz 'dot' program, which is not installed "
            "(e.g. 'apt-get install graphviz'); to_dot() gives the DOT source without it"
        )
    subprocess.run([dot, f"-T{fmt}", "-o", path], input=to_dot(t, params).encode(),
                   check=True, capture_output=True)
    return path
