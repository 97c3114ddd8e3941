"""Gemm: Y = alpha * op(A) @ op(B) + beta * C with op = optional transpose; C optional and broadcast.

In integer graphs alpha and beta must be integers (QuantLib uses 1, 2 and 0, 1, 3) so the math stays
exact; beta = 0 ignores C. The range is exact per output column (constant B) or row (constant A).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.backend.cindex import bcast
from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import gemm_rule
from torch_deeploy.ops._elementwise import integer_type, is_float_array
from torch_deeploy.ops._linear import acc_ctype, bounds, dot_bounds, partial_bounds
from torch_deeploy.ops.base import Float, InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import any_float, as_int, mul_ranges, rng, scale_range
from torch_deeploy.ops.registry import register


def _operands(a: np.ndarray, b: np.ndarray, attrs: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    return (a.T if attrs["transA"] else a), (b.T if attrs["transB"] else b)


def _integral(attrs: dict[str, Any], key: str) -> int:
    v = attrs[key]
    if not float(v).is_integer():
        raise OpError(f"{key}={v} is not an integer; integer Gemm supports only integral alpha and beta "
                      "(use float inputs for a fractional scale)")
    return int(v)


def infer(ctx: InferCtx) -> list[TensorType]:
    a, b = ctx.input(0), ctx.input(1)
    at = ctx.attrs
    if a.rank != 2 or b.rank != 2:
        raise ctx.fail(f"A and B must be 2-D matrices, got shapes {list(a.shape)} and {list(b.shape)}")
    m, k = (a.shape[1], a.shape[0]) if at["transA"] else a.shape
    kb, n = (b.shape[1], b.shape[0]) if at["transB"] else b.shape
    if k != kb:
        raise ctx.fail(f"inner dimensions differ: op(A) is {m}x{k}, op(B) is {kb}x{n} "
                       f"(transA={at['transA']}, transB={at['transB']})")
    use_c = ctx.has_input(2) and at["beta"] != 0
    if use_c:
        c = ctx.input(2)
        try:
            if np.broadcast_shapes(c.shape, (m, n)) != (m, n):
                raise ValueError
        except ValueError:
            raise ctx.fail(f"C of shape {list(c.shape)} does not broadcast to the output {[m, n]}") from None
    shape = (m, n)
    if any_float(a, b, ctx.inputs[2] if use_c else None):
        return [TensorType.floating(shape)]
    alpha, beta = _integral(at, "alpha"), _integral(at, "beta")
    ra, rb = rng(a), rng(b)
    if k == 0:
        lo: Any = 0
        hi: Any = 0
    elif ctx.consts[1] is not None:
        wb = ctx.consts[1].T if at["transB"] else ctx.consts[1]
        lo, hi = dot_bounds(ra, wb, 0)  # (1, N): per output column
    elif ctx.consts[0] is not None:
        wa = ctx.consts[0].T if at["transA"] else ctx.consts[0]
        lo, hi = dot_bounds(rb, wa, 1)  # (M, 1): per output row
    else:
        p = mul_ranges(ra, rb)
        lo, hi = p[0] * k, p[1] * k
    lo, hi = (lo * alpha, hi * alpha) if alpha >= 0 else (hi * alpha, lo * alpha)
    if use_c:
        if ctx.consts[2] is not None:
            cb = np.broadcast_to(ctx.consts[2].astype(np.int64) * beta, shape)
            lo, hi = lo + cb, hi + cb
        else:
            c_lo, c_hi = scale_range(rng(ctx.input(2)), beta)
            lo, hi = lo + c_lo, hi + c_hi
    lo_i, hi_i = bounds(lo, hi)
    return [integer_type(shape, lo_i, hi_i)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    a, b = np.asarray(inputs[0]), np.asarray(inputs[1])
    c = inputs[2] if len(inputs) > 2 and attrs["beta"] != 0 else None
    if any(is_float_array(x) for x in (a, b, c)):
        fa, fb = _operands(a.astype(np.float64), b.astype(np.float64), attrs)
        y = attrs["alpha"] * (fa @ fb)
        if c is not None:
            y = y + attrs["beta"] * np.asarray(c, dtype=np.float64)
        return [y.astype(np.float32)]
    ia, ib = _operands(as_int(a), as_int(b), attrs)
    yi = _integral(attrs, "alpha") * np.matmul(ia, ib)
    if c is not None:
        yi = yi + _integral(attrs, "beta") * as_int(np.asarray(c))
    return [np.broadcast_to(yi, (ia.shape[0], ib.shape[1])).copy()]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    a, b = k.inputs[0], k.inputs[1]
    y = k.outputs[0]
    assert a is not None and b is not None
    at = k.attrs
    m, n = y.shape
    kk = a.shape[0] if at["transA"] else a.shape[1]
    c = k.inputs[2] if len(k.inputs) > 2 else None
    use_c = c is not None and at["beta"] != 0
    args: dict[str, Any] = {
        "M": m, "N": n, "K": kk, "use_c": use_c,
        # element (row, k) of op(A) is a[row * a_rs + k * a_ks]; element (k, col) of op(B) is b[k * b_ks + col * b_cs]
        "a_rs": 1 if at["transA"] else kk, "a_ks": m if at["transA"] else 1,
        "b_ks": 1 if at["transB"] else n, "b_cs": kk if at["transB"] else 1,
        "bc": bcast(c.shape, (m, n)) if use_c else None,
        "rq": None,  # RequantizedGemm: the output stage's requantization
    }
    if y.is_float:
        return {**args, "acc": "double", "alpha": float(at["alpha"]), "beta": float(at["beta"])}
    alpha, beta = _integral(at, "alpha"), _integral(at, "beta")
    if k.consts[1] is not None:
        part = partial_bounds(rng(a), k.consts[1].T if at["transB"] else k.consts[1], None, 0, kk)
    elif k.consts[0] is not None:
        part = partial_bounds(rng(b), k.consts[0].T if at["transA"] else k.consts[0], None, 1, kk)
    else:
        part = partial_bounds(rng(a), None, rng(b), 0, kk)
    scaled = scale_range(part, alpha)
    ranges = [part, scaled]
    if use_c:
        assert c is not None
        cs = scale_range(rng(c), beta)
        ranges += [cs, (scaled[0] + cs[0], scaled[1] + cs[1])]
    return {**args, "acc": acc_ctype(*ranges), "alpha": alpha, "beta": beta, "result_range": ranges[-1]}


SPEC = register(OpSpec(
    name="Gemm",
    attrs={
        "alpha": Float(1.0),
        "beta": Float(1.0),
        "transA": Int(0, choices=(0, 1)),
        "transB": Int(0, choices=(0, 1)),
    },
    inputs=(2, 3),
    infer=infer,
    reference=reference,
    kernel="gemm",
    kernel_args=kernel_args,
    tiling=gemm_rule,
    doc="alpha * op(A) @ op(B) + beta * C, optional transposes, C broadcast; integral alpha/beta",
))
