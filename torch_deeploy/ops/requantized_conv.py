"""RequantizedConv: a Conv whose result goes straight through a RequantShift with one (mul, add) per output channel.

Not an ONNX or QuantLib operator: passes/fold_requant.py makes it from Conv -> RequantShift (QuantLib's integer
convolution layer; a constant bias is folded into add as bias * mul + add) so that the conv kernel requantizes in
its output stage. One layer less per convolution, and the int32 intermediate (4 bytes per output, moved L1 <-> L2
twice) never exists. Inputs: x, w, mul[M], add[M] (int32 constants). Exact:
y[n, m] = saturate(floor((conv(x, w)[n, m] * mul[m] + add[m] + div/2) / div)).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops import conv, requant_shift
from torch_deeploy.ops._linear import dot_bounds
from torch_deeploy.ops.base import InferCtx, KernelNode, OpSpec
from torch_deeploy.ops.common import INT32, as_int, mul_ranges, rng
from torch_deeploy.ops.registry import register

CONV_ATTRS = dict(conv.SPEC.attrs)
RQ_ATTRS = {k: requant_shift.EPILOGUE_ATTRS[k] for k in ("div", "n_levels_out", "signed")}


def infer(ctx: InferCtx) -> list[TensorType]:
    x, w, mul, add = (ctx.input(i) for i in range(4))
    (y,) = conv.infer(ctx)  # inputs 2.. are not a bias here, but the shape rule only reads x and w's shapes
    if y.is_float or x.is_float or w.is_float:
        raise ctx.fail("RequantizedConv needs integer operands")
    m = w.shape[0]
    for p, what in ((mul, "mul"), (add, "add")):
        if p.is_float or p.shape != (m,):
            raise ctx.fail(f"{what} must be an integer vector of the {m} output channels, got {p.dtype} "
                           f"{list(p.shape)}")
    return [TensorType.integer(y.shape, *requant_shift.out_bounds(ctx.attrs))]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, w, mul, add = inputs
    conv_attrs = {k: attrs[k] for k in CONV_ATTRS}
    (acc,) = conv.reference([x, w], conv_attrs)
    shape = (1, -1) + (1,) * (acc.ndim - 2)
    return requant_shift.reference([acc, as_int(np.asarray(mul)).reshape(shape),
                                    as_int(np.asarray(add)).reshape(shape)], attrs)


def conv_range(k: KernelNode) -> tuple[np.ndarray, np.ndarray]:
    """Per output channel, bounds of the exact convolution result (constant weights) or one interval bound."""
    x, w = k.inputs[0], k.inputs[1]
    assert x is not None and w is not None
    xr = rng(x)
    xr = (min(xr[0], 0), max(xr[1], 0))  # padded taps read 0
    if k.consts[1] is not None:
        lo, hi = dot_bounds(xr, k.consts[1], tuple(range(1, w.rank)))
        return np.asarray(lo, dtype=object).reshape(-1), np.asarray(hi, dtype=object).reshape(-1)
    p = mul_ranges(xr, rng(w))
    taps = int(np.prod(w.shape[1:], dtype=np.int64))
    return np.full(w.shape[0], p[0] * taps, dtype=object), np.full(w.shape[0], p[1] * taps, dtype=object)


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """Conv's geometry and accumulator (no bias), plus the output stage: the C type that holds
    v * mul[m] + add[m] + div/2 exactly for every channel (int32 lets the kernel use one add-and-shift)."""
    plain = dataclasses.replace(k, inputs=k.inputs[:2], consts=k.consts[:2],
                                attrs={a: k.attrs[a] for a in CONV_ATTRS})
    args = conv.kernel_args(plain)
    lo, hi = conv_range(k)
    mul, add = k.consts[2], k.consts[3]
    half = k.attrs["div"] // 2
    if mul is not None and add is not None:
        mv = [int(v) for v in np.asarray(mul).reshape(-1)]
        av = [int(v) + half for v in np.asarray(add).reshape(-1)]
        wide = any(min(a * m_, b * m_) + c < INT32[0] or max(a * m_, b * m_) + c > INT32[1]
                   for a, b, m_, c in zip(lo, hi, mv, av, strict=True))
    else:
        wide = True
    out_lo, out_hi = requant_shift.out_bounds(k.attrs)
    ctype = "int64_t" if wide or args["acc"] != "int32_t" else "int32_t"
    return {**args, "rqc": {"log2d": k.attrs["div"].bit_length() - 1, "half": half, "lo": out_lo, "hi": out_hi,
                            "ctype": ctype}}


SPEC = register(OpSpec(
    name="RequantizedConv",
    attrs={**CONV_ATTRS, **RQ_ATTRS},
    inputs=(4, 4),
    infer=infer,
    reference=reference,
    domains=("deeploy",),
    kernel="conv",
    kernel_args=kernel_args,
    tiling=conv.SPEC.tiling,
    cost=conv.cost,
    doc="Conv followed by RequantShift with per-channel mul/add, fused by the lowering (passes/fold_requant.py)",
))
