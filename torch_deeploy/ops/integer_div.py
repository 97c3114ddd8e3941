"""IntegerDiv: round_half_up(x*Delta*eta / (y*eta + eps)) with y a tensor (OPERATORS.md IntegerDiv).

Not present in the conformance networks; the spec's exact-rational definition is implemented (Deeploy's C
kernel rounds half away from zero instead, which differs only for negative exact halves).
"""

from __future__ import annotations

from fractions import Fraction
from math import floor
from typing import Any

import numpy as np

from torch_deeploy.backend.cindex import bcast
from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import Range, as_int, broadcast_shapes, rng
from torch_deeploy.ops.registry import register

# Intermediates (2*x*Delta*eta and friends) must stay well inside int64.
_LIMIT = 1 << 61


def _den_candidates(y: Range, eta: int, eps: int) -> list[int]:
    """Values of y*eta + eps at the ends of y's range and next to its zero: the extremes of each sign part."""
    ys = {y[0], y[1]}
    if eta != 0:
        root = Fraction(-eps, eta)
        base = floor(root)
        ys.update(v for v in range(base - 1, base + 3) if y[0] <= v <= y[1])
    return [v * eta + eps for v in sorted(ys)]


def out_range(x: Range, y: Range, delta: int, eta: int, eps: int) -> Range:
    k = delta * eta
    dens = _den_candidates(y, eta, eps)
    if 0 in dens:
        raise OpError(f"y*eta + eps can be 0 for y in [{y[0]}, {y[1]}] (eta={eta}, eps={eps}); "
                      "supported only when the range of y excludes -eps/eta")
    quotients = [Fraction(xv * k, d) for xv in x for d in dens]
    lo, hi = floor(min(quotients) + Fraction(1, 2)), floor(max(quotients) + Fraction(1, 2))
    big = max(abs(v) for v in x) * abs(k) * 2 + max(abs(d) for d in dens)
    if big >= _LIMIT:
        raise OpError(f"x*Delta*eta reaches {big}, beyond the supported 61-bit intermediate")
    return lo, hi


def infer(ctx: InferCtx) -> list[TensorType]:
    x, y = ctx.input(0), ctx.input(1)
    shape = broadcast_shapes(x.shape, y.shape)
    a = ctx.attrs
    lo, hi = out_range(rng(x), rng(y), a["Delta"], a["eta"], a["eps"])
    return [TensorType.integer(shape, lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, y = (as_int(a) for a in inputs)  # type: ignore[arg-type]
    num = x * (attrs["Delta"] * attrs["eta"])
    den = y * attrs["eta"] + attrs["eps"]
    if np.any(den == 0):
        raise OpError("division by zero: y*eta + eps is 0 for some element of y")
    num, den = np.broadcast_arrays(num, den)
    neg = den < 0
    num, den = np.where(neg, -num, num), np.where(neg, -den, den)
    return [np.floor_divide(2 * num + den, 2 * den)]  # floor(num/den + 1/2), den > 0


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x, y = k.inputs
    assert x is not None and y is not None
    out = k.outputs[0]
    # infer (out_range) has checked that 2*|x*Delta*eta| + |y*eta + eps| stays below 2^61: int64 suffices.
    return {"bx": bcast(x.shape, out.shape), "bd": bcast(y.shape, out.shape), "k": k.attrs["Delta"] * k.attrs["eta"]}


SPEC = register(OpSpec(
    name="IntegerDiv",
    attrs={"Delta": Int(), "eps": Int(), "eta": Int()},
    inputs=(2, 2),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="integer_div",
    kernel_args=kernel_args,
    tiling=elementwise(),
    doc="elementwise x*Delta*eta / (y*eta + eps), rounded half up",
))
