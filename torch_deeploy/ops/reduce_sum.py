"""ReduceSum: exact integer sum over axes (attribute, or constant input from opset 13), keepdims,
noop_with_empty_axes. Also holds the axes resolution shared with ReduceMean."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import reduction
from torch_deeploy.ops._elementwise import integer_type
from torch_deeploy.ops._linear import fits_int32
from torch_deeploy.ops.base import InferCtx, Int, Ints, KernelNode, OpSpec
from torch_deeploy.ops.common import as_int, rng
from torch_deeploy.ops.registry import register

REDUCE_ATTRS = {
    "axes": Ints(None),
    "keepdims": Int(1, choices=(0, 1)),
    "noop_with_empty_axes": Int(0, choices=(0, 1)),
}


def reduce_axes(attrs: dict[str, Any], axes_input: np.ndarray | None, rank: int) -> tuple[int, ...] | None:
    """Normalised sorted axes to reduce, or None for "no reduction" (empty axes with noop_with_empty_axes)."""
    if attrs["axes"] is not None and axes_input is not None:
        raise OpError("axes is given both as an attribute and as an input; use one form")
    raw = attrs["axes"] if attrs["axes"] is not None else (
        () if axes_input is None else tuple(int(a) for a in np.asarray(axes_input).reshape(-1)))
    if not raw:
        return None if attrs["noop_with_empty_axes"] else tuple(range(rank))
    out = set()
    for a in raw:
        if not -rank <= a < rank:
            raise OpError(f"axis {a} is out of range for a rank-{rank} input")
        if a % rank in out:
            raise OpError(f"axis {a} is listed twice in axes {list(raw)}")
        out.add(a % rank)
    return tuple(sorted(out))


# Kept dims split, reduced dims are read whole (the same rule serves ReduceMean).
reduce_tiling = reduction(
    lambda k: reduce_axes(k.attrs, k.consts[1] if len(k.consts) > 1 else None, len(k.inputs[0].shape)) or (),
    lambda k: bool(k.attrs["keepdims"]))


def reduced(ctx: InferCtx) -> tuple[tuple[int, ...] | None, tuple[int, ...], int]:
    """(axes, output shape, number of elements summed per output) for a Reduce* node."""
    x = ctx.input(0)
    axes_in = ctx.const(1, "axes") if ctx.has_input(1) else None
    axes = reduce_axes(ctx.attrs, axes_in, x.rank)
    if axes is None:
        return None, x.shape, 1
    keep = ctx.attrs["keepdims"]
    shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape) if keep or i not in axes)
    cnt = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    return axes, shape, cnt


def run_axes(inputs: list[np.ndarray | None],
             attrs: dict[str, Any]) -> tuple[np.ndarray, tuple[int, ...] | None]:
    x = np.asarray(inputs[0])
    axes_in = inputs[1] if len(inputs) > 1 else None
    return x, reduce_axes(attrs, axes_in, x.ndim)


def reduce_kernel_args(k: KernelNode) -> dict[str, Any]:
    """Shared by ReduceSum and ReduceMean (template reduce.c.j2): the input seen as kept and reduced dims,
    size-1 dims dropped and adjacent dims of the same kind merged, each as (size, stride in elements).
    Output element o (kept dims in order) reads base(o) + sum over reduced dims of r * stride."""
    x, y = k.inputs[0], k.outputs[0]
    assert x is not None
    axes_in = k.consts[1] if len(k.consts) > 1 else None
    axes = reduce_axes(k.attrs, axes_in, x.rank)
    red = set(axes) if axes is not None else set()
    groups: list[list[Any]] = []  # [is_reduced, size, stride]
    stride = 1
    for d in reversed(range(x.rank)):
        n = x.shape[d]
        if n != 1:
            kind = d in red
            if groups and groups[-1][0] == kind:
                groups[-1][1] *= n
            else:
                groups.append([kind, n, stride])
        stride *= n
    kept = [{"n": g[1], "stride": g[2]} for g in groups if not g[0]]  # innermost first
    reduced = [{"n": g[1], "stride": g[2]} for g in reversed(groups) if g[0]]  # outermost first
    cnt = int(np.prod([x.shape[a] for a in red], dtype=np.int64)) if red else 1
    if y.is_float:
        return {"kept": kept, "reduced": reduced, "cnt": cnt, "acc": "double", "mean_t": None, "mean_shift": None}
    lo, hi = rng(x)
    s_lo, s_hi = min(lo * cnt, 0), max(hi * cnt, 0)
    t_lo, t_hi = 2 * s_lo + cnt, 2 * s_hi + cnt  # ReduceMean's rounding numerator
    fits = fits_int32((s_lo, s_hi))
    mean_fits = fits_int32((s_lo, s_hi), (t_lo, t_hi))
    two = 2 * cnt
    return {"kept": kept, "reduced": reduced, "cnt": cnt, "acc": "int32_t" if fits else "int64_t",
            "mean_t": "int32_t" if mean_fits else "int64_t",
            "mean_shift": two.bit_length() - 1 if two & (two - 1) == 0 else None}


def infer(ctx: InferCtx) -> list[TensorType]:
    axes, shape, cnt = reduced(ctx)
    x = ctx.input(0)
    if x.is_float:
        return [TensorType.floating(shape)]
    lo, hi = rng(x)
    return [integer_type(shape, lo * cnt, hi * cnt)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, axes = run_axes(inputs, attrs)
    if axes is None:
        return [x.astype(np.float32) if x.dtype.kind == "f" else as_int(x)]
    keep = bool(attrs["keepdims"])
    if x.dtype.kind == "f":
        return [x.astype(np.float64).sum(axis=axes, keepdims=keep).astype(np.float32)]
    return [as_int(x).sum(axis=axes, keepdims=keep)]


SPEC = register(OpSpec(
    name="ReduceSum",
    attrs=REDUCE_ATTRS,
    inputs=(1, 2),
    infer=infer,
    reference=reference,
    kernel="reduce",
    kernel_args=lambda k: {**reduce_kernel_args(k), "mean": False},
    tiling=reduce_tiling,
    doc="exact sum over axes (attribute or constant input), keepdims, noop_with_empty_axes",
))
