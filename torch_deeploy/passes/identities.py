"""Remove nodes that pass one input through unchanged, as a table of op -> rule.

- RequantShift with mul == div and a small add on an input already inside its clip range: QuantLib exports put
  one after data movement (Transpose, Concat in MicroLlama's attention: 4 per block) to re-assert the int8 range;
  floor((x*div + add + div/2) / div) == x for every integer x.
- Concat whose inputs are all empty but one: MicroLlama's KV cache at its first step (the cached keys and values
  are [.., 0, ..] graph inputs), 2 per block.

Readers of the node's output read the passed-through input instead; when the output is a graph output (an updated
KV cache), the input's producer writes it directly, if the node was the input's only reader. Each node removed
saves a layer (DMA in and out, a fork, the tile loop).
"""

from __future__ import annotations

from collections.abc import Callable

from torch_deeploy.ir.graph import Graph, Node
from torch_deeploy.ops.requant_shift import out_bounds
from torch_deeploy.passes._epilogue import scalar_constant


def is_identity(g: Graph, rq: Node) -> bool:
    """y == x for every x in x's range: floor((x*mul + add + div/2) / div) == x for all integers x exactly when
    mul == div and -div/2 <= add < div/2, and no clipping happens when x's range lies in [lo, hi]."""
    mul, add = scalar_constant(g, rq.inputs[1]), scalar_constant(g, rq.inputs[2])
    if mul is None or add is None:
        return False
    div = int(rq.attrs["div"])
    x, y = g.tensors[rq.inputs[0]].type, g.tensors[rq.outputs[0]].type
    if mul != div or not -(div // 2) <= add < div - div // 2 or x.dtype != y.dtype or x.range is None:
        return False
    lo, hi = out_bounds(rq.attrs)
    return lo <= x.range[0] and x.range[1] <= hi


def requant_passthrough(g: Graph, n: Node) -> str | None:
    return n.inputs[0] if is_identity(g, n) else None


def concat_passthrough(g: Graph, n: Node) -> str | None:
    """The one non-empty input of a Concat, when it alone makes the output (same shape and element type)."""
    live = [i for i in n.inputs if i and g.tensors[i].type.size > 0]
    if len(live) != 1:
        return None
    x, y = g.tensors[live[0]].type, g.tensors[n.outputs[0]].type
    return live[0] if x.shape == y.shape and x.dtype == y.dtype else None


PASSTHROUGH: dict[str, Callable[[Graph, Node], str | None]] = {
    "RequantShift": requant_passthrough,
    "Concat": concat_passthrough,
}


def drop_identities(g: Graph) -> Graph:
    """Bypass every node whose PASSTHROUGH rule names the input it passes through unchanged."""
    outputs = set(g.outputs)
    producers = g.producers()
    readers = g.consumers()
    rename: dict[str, str] = {}
    dead: set[str] = set()
    others: set[str] = set()
    keep: list[Node] = []
    for n in g.nodes:
        n.inputs = [rename.get(i, i) for i in n.inputs]
        rule = PASSTHROUGH.get(n.op)
        x = rule(g, n) if rule is not None else None
        if x is None:
            keep.append(n)
            continue
        y = n.outputs[0]
        if y not in outputs:
            rename[y] = x
            dead.add(y)
        elif x in producers and x not in outputs and len(readers.get(x, [])) == 1:
            p = producers[x]
            p.outputs = [y if o == x else o for o in p.outputs]
            dead.add(x)
        else:
            keep.append(n)
            continue
        others.update(i for i in n.inputs if i and i != x)
    if not dead:
        return g
    g.nodes = keep
    used = {i for n in keep for i in n.inputs if i}
    for name in dead:
        del g.tensors[name]
    for name in others - used - outputs:
        if g.tensors[name].is_constant:  # a removed node's parameters; graph inputs stay
            del g.tensors[name]
    return g
