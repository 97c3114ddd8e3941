"""MatMul: numpy batched matrix product (1-D operand rules, batch broadcasting), exact int64 accumulation.

The output range is exact per output column when the second operand (the weights) is constant, and per
output row when the first is; otherwise it is the interval bound K * range(a*b).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import matmul_like
from torch_deeploy.ops._elementwise import integer_type, is_float_array
from torch_deeploy.ops._linear import acc_ctype, batch_offsets, bounds, dot_bounds, partial_bounds
from torch_deeploy.ops.base import InferCtx, KernelNode, OpSpec
from torch_deeploy.ops.common import any_float, as_int, broadcast_shapes, mul_ranges, rng
from torch_deeploy.ops.registry import register


def matmul_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """Output shape and reduction length K of numpy's matmul, or OpError saying what does not fit."""
    if len(a) == 0 or len(b) == 0:
        raise OpError(f"operands must have rank >= 1, got shapes {list(a)} and {list(b)}")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise OpError(f"inner dimensions differ: A {list(a)} has K={a2[-1]}, B {list(b)} has K={b2[-2]}")
    try:
        batch = broadcast_shapes(a2[:-2], b2[:-2])
    except OpError:
        raise OpError(f"batch dimensions of A {list(a)} and B {list(b)} do not broadcast") from None
    out = (*batch, *([a2[-2]] if len(a) > 1 else []), *([b2[-1]] if len(b) > 1 else []))
    return tuple(out), a2[-1]


def infer(ctx: InferCtx) -> list[TensorType]:
    a, b = ctx.input(0), ctx.input(1)
    shape, k = matmul_shape(a.shape, b.shape)
    if any_float(a, b):
        return [TensorType.floating(shape)]
    ra, rb = rng(a), rng(b)
    if k == 0:
        return [integer_type(shape, 0, 0)]
    if ctx.consts[1] is not None:  # weights: reduce over K (axis -2, or the only axis of a vector)
        w = ctx.consts[1]
        lo, hi = dot_bounds(ra, w, -2 if w.ndim > 1 else 0)
    elif ctx.consts[0] is not None:
        lo, hi = dot_bounds(rb, ctx.consts[0], -1)
    else:
        p_lo, p_hi = mul_ranges(ra, rb)
        lo, hi = p_lo * k, p_hi * k
    lo_i, hi_i = bounds(lo, hi)
    return [integer_type(shape, lo_i, hi_i)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    a, b = (np.asarray(x) for x in inputs[:2])  # type: ignore[arg-type]
    if is_float_array(a) or is_float_array(b):
        return [np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.float32)]
    return [np.matmul(as_int(a), as_int(b))]  # integer matmul in numpy is exact (no BLAS)


def kernel_args(k: KernelNode) -> dict[str, Any]:
    a, b = k.inputs[0], k.inputs[1]
    y = k.outputs[0]
    assert a is not None and b is not None
    a2 = (1, *a.shape) if a.rank == 1 else a.shape
    b2 = (*b.shape, 1) if b.rank == 1 else b.shape
    m, kk, n = a2[-2], a2[-1], b2[-1]
    batch = broadcast_shapes(a2[:-2], b2[:-2])
    part = None  # range of every partial (and so of every full) sum
    if y.is_float:
        acc = "double"  # the reference accumulates in float64; one rounding to float32 at the end
    else:
        if k.consts[1] is not None:
            w = k.consts[1]
            part = partial_bounds(rng(a), w, None, -2 if w.ndim > 1 else 0, kk)
        elif k.consts[0] is not None:
            part = partial_bounds(rng(b), k.consts[0], None, -1, kk)
        else:
            part = partial_bounds(rng(a), None, rng(b), 0, kk)
        acc = acc_ctype(part)
    return {"M": m, "K": kk, "N": n, "nb": int(np.prod(batch, dtype=np.int64)), "acc": acc,
            "result_range": part, "rq": None,
            "aoff": batch_offsets(a2[:-2], batch, m * kk), "boff": batch_offsets(b2[:-2], batch, kk * n)}


SPEC = register(OpSpec(
    name="MatMul",
    inputs=(2, 2),
    infer=infer,
    reference=reference,
    kernel="matmul",
    kernel_args=kernel_args,
    tiling=matmul_like(),
    doc="numpy batched matrix product with broadcasting batch dims, exact integer accumulation",
))
