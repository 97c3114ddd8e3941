"""Remove RequantShifts that leave every value of their input unchanged.

QuantLib exports put a RequantShift with mul == div and add == 0 after data movement (Transpose, Concat in
MicroLlama's attention: 4 per block) to re-assert the int8 range. floor((x*div + div/2) / div) == x for every
integer x, so when the input's range already lies inside the output's clip range the layer is an identity: its
readers can read the input directly. Each one removed saves a layer (DMA in and out, a fork, the tile loop).
"""

from __future__ import annotations

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


def drop_identity_requant(g: Graph) -> Graph:
    """Readers of an identity RequantShift's output read its input instead. When the output is a graph output (an
    updated KV cache), the input's producer writes it directly instead, if the RequantShift was its only reader."""
    outputs = set(g.outputs)
    producers = g.producers()
    readers = g.consumers()
    rename: dict[str, str] = {}
    dead: set[str] = set()
    params: set[str] = set()
    keep: list[Node] = []
    for n in g.nodes:
        n.inputs = [rename.get(i, i) for i in n.inputs]
        if n.op != "RequantShift" or not is_identity(g, n):
            keep.append(n)
            continue
        x, y = n.inputs[0], n.outputs[0]
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
        params.update(n.inputs[1:3])
    if not dead:
        return g
    g.nodes = keep
    used = {i for n in keep for i in n.inputs if i}
    for name in dead:
        del g.tensors[name]
    for name in params - used - outputs:
        del g.tensors[name]
    return g
