"""Pad: constant padding (negative pads crop), in both ONNX forms: `pads`/`value` attributes (opset < 11,
and QuantLib exports at any opset) or pads / constant_value / axes as constant inputs (opset >= 11).

The output range is the input range joined with the pad value (when anything is padded).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import Box, TileMap, TilingRule, untiled
from torch_deeploy.ops.base import Attr, Float, InferCtx, Ints, KernelNode, OpSpec
from torch_deeploy.ops.registry import register


def _constant_only(v: str) -> str | None:
    if v != "constant":
        return "only mode 'constant' is supported (reflect, edge and wrap padding are not)"
    return None


def _full_pads(pads: np.ndarray | tuple[int, ...], axes: np.ndarray | None,
               rank: int) -> list[tuple[int, int]]:
    """(begin, end) per axis of the input, from ONNX pads [begin..., end...] over `axes` (all by default)."""
    p = [int(v) for v in np.asarray(pads).reshape(-1)]
    ax = list(range(rank)) if axes is None else [int(a) for a in np.asarray(axes).reshape(-1)]
    if len(p) != 2 * len(ax):
        raise OpError(f"pads has {len(p)} values; expected {2 * len(ax)} ([begin..., end...] for "
                      f"{len(ax)} axes of a rank-{rank} input)")
    out = [(0, 0)] * rank
    seen: set[int] = set()
    for i, a in enumerate(ax):
        if not -rank <= a < rank:
            raise OpError(f"axis {a} is out of range for a rank-{rank} input")
        a %= rank
        if a in seen:
            raise OpError(f"axis {a} is listed twice in axes")
        seen.add(a)
        out[a] = (p[i], p[i + len(ax)])
    return out


def _pads_and_value(attrs: dict[str, Any], consts: list[np.ndarray | None], have: list[bool], rank: int
                    ) -> tuple[list[tuple[int, int]], np.ndarray | float]:
    """Resolve both forms. consts[i] is the data of input i (None when absent)."""
    if attrs["pads"] is not None:
        if any(have[1:]):
            raise OpError("pads is given both as an attribute and as inputs; use one form")
        return _full_pads(attrs["pads"], None, rank), attrs["value"]
    if not have[1]:
        raise OpError("pads missing: give the 'pads' attribute (opset < 11) or the pads input (opset >= 11)")
    pads = consts[1]
    axes = consts[3] if have[3] else None
    if pads is None or (have[3] and axes is None):
        raise OpError("pads and axes must be constants; they are computed at run time here")
    value = consts[2] if have[2] else 0
    if have[2] and value is not None and np.asarray(value).size != 1:
        raise OpError(f"constant_value must be a scalar, got shape {list(np.asarray(value).shape)}")
    return _full_pads(pads, axes, rank), value  # type: ignore[return-value]


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    have = [ctx.has_input(i) for i in range(4)]
    consts = [ctx.consts[i] if i < len(ctx.consts) else None for i in range(4)]
    if have[2] and consts[2] is None:
        raise ctx.fail("constant_value must be a constant; it is computed at run time here")
    pads, value = _pads_and_value(ctx.attrs, consts, have, x.rank)
    shape = tuple(n + b + e for n, (b, e) in zip(x.shape, pads, strict=True))
    if any(s < 0 for s in shape):
        raise ctx.fail(f"negative pads {pads} crop more than the input shape {list(x.shape)}")
    value_float = have[2] and ctx.inputs[2] is not None and ctx.inputs[2].is_float
    if x.is_float:
        return [TensorType.floating(shape)]
    v = float(np.asarray(value).reshape(-1)[0])
    if value_float or not v.is_integer():
        raise ctx.fail(f"pad value {v} is not an integer but the input holds integers")
    lo, hi = x.range  # type: ignore[misc]
    grows = any(b > 0 or e > 0 for b, e in pads) and int(np.prod(shape, dtype=np.int64)) > 0
    if grows:
        lo, hi = min(lo, int(v)), max(hi, int(v))
    return [TensorType.integer(shape, lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = np.asarray(inputs[0])
    consts = [inputs[i] if i < len(inputs) else None for i in range(4)]
    pads, value = _pads_and_value(attrs, consts, [c is not None for c in consts], x.ndim)
    v = np.asarray(value).reshape(-1)[0]
    crop = tuple(slice(max(0, -b), n - max(0, -e)) for n, (b, e) in zip(x.shape, pads, strict=True))
    y = np.pad(x[crop], [(max(0, b), max(0, e)) for b, e in pads], constant_values=v)
    return [y.astype(np.float32) if x.dtype.kind == "f" else y.astype(np.int64)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """Rows = every output dim but the last; per row the C decides fill or copy, the last dim copies
    a contiguous run [j0, j1) of the output from the input and fills the rest."""
    x, y = k.inputs[0], k.outputs[0]
    assert x is not None
    have = [i < len(k.inputs) and k.inputs[i] is not None for i in range(4)]
    consts = [k.consts[i] if have[i] else None for i in range(4)]
    pads, value = _pads_and_value(k.attrs, consts, have, x.rank)
    ishape, oshape = (tuple(x.shape), tuple(y.shape)) if x.rank else ((1,), (1,))
    pads = pads if x.rank else [(0, 0)]
    istrides = [int(np.prod(ishape[d + 1:], dtype=np.int64)) for d in range(len(ishape))]
    v = float(np.asarray(value).reshape(-1)[0])
    b_last = pads[-1][0]
    return {
        "outer": [{"n": oshape[d], "b": pads[d][0], "n_in": ishape[d], "stride": istrides[d]}
                  for d in range(len(oshape) - 1)],
        "rows": int(np.prod(oshape[:-1], dtype=np.int64)), "OW": oshape[-1], "b_last": b_last,
        "j0": min(max(0, b_last), oshape[-1]), "j1": max(min(oshape[-1], b_last + ishape[-1]), 0),
        "value": v if y.is_float else int(v),
    }


def tiling(k: KernelNode) -> TilingRule:
    """Any dim splits; a tile reads the part of the input under it and pads the rest itself. Pads given
    as an input become a per-tile constant; negative (cropping) pads and the axes input stay untiled."""
    x = k.inputs[0]
    assert x is not None
    have = [i < len(k.inputs) and k.inputs[i] is not None for i in range(4)]
    consts = [k.consts[i] if i < len(k.consts) else None for i in range(4)]
    pads, _ = _pads_and_value(k.attrs, consts, have, len(x.shape))
    if have[3] or any(b < 0 or e < 0 for b, e in pads):
        return untiled()(k)

    def inputs_for(k: KernelNode, box: Box) -> TileMap:
        start, size, new = [], [], []
        for d, ((b, _e), n) in enumerate(zip(pads, x.shape, strict=True)):
            o0, on = box.start[d], box.size[d]
            a = min(max(o0 - b, 0), n)
            z = max(min(o0 + on - b, n), a)
            before = max(0, min(a - (o0 - b), on))
            start.append(a)
            size.append(z - a)
            new.append((before, on - before - (z - a)))
        flat = tuple(p for p, _ in new) + tuple(q for _, q in new)
        boxes = [Box(tuple(start), tuple(size))] + [Box.whole(t.shape) if t is not None else None for t in k.inputs[1:]]
        if k.attrs["pads"] is not None:
            return TileMap(tuple(boxes), {**k.attrs, "pads": flat})
        return TileMap(tuple(boxes), dict(k.attrs), {1: np.array(flat, dtype=np.int64)})

    return TilingRule({d: 1 for d in range(len(x.shape))}, inputs_for)

SPEC = register(OpSpec(
    name="Pad",
    attrs={
        "mode": Attr("str", "constant", _constant_only),
        "pads": Ints(None),
        "value": Float(0.0),
    },
    inputs=(1, 4),
    infer=infer,
    reference=reference,
    kernel="pad",
    kernel_args=kernel_args,
    tiling=tiling,
    doc="constant padding (attribute or input form; negative pads crop); reflect/edge/wrap unsupported",
))
