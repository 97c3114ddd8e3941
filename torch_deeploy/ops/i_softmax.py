"""iSoftmax: I-BERT integer softmax over the last axis (OPERATORS.md iSoftmax), unsigned output 0..n-1."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import rowwise
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import Range, as_int, rng
from torch_deeploy.ops.registry import register

# Shifting a non-negative int64 by 63 or more gives 0; numpy (like C) does not define such shifts.
_MAX_SHIFT = 62


def shift_right(v: np.ndarray, z: np.ndarray) -> np.ndarray:
    """floor(v / 2^z) for int64 v >= 0 and any z >= 0, with shifts past the word width giving 0."""
    return np.where(z > _MAX_SHIFT, 0, v >> np.minimum(z, _MAX_SHIFT))


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    rng(x)
    if x.rank < 1:
        raise ctx.fail("input must have at least one dimension (softmax runs over the last axis)")
    n = ctx.attrs["n_levels"]
    return [TensorType.integer(x.shape, 0, n - 1)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = as_int(inputs[0])  # type: ignore[arg-type]
    a, b, c, log2, n = (attrs[k] for k in ("coeffA", "coeffB", "coeffC", "log2", "n_levels"))
    if x.size == 0:
        return [np.zeros(x.shape, dtype=np.int64)]
    d = x - x.max(axis=-1, keepdims=True)  # <= 0
    z = np.floor_divide(-d, log2)  # >= 0
    p = d + z * log2  # -log2 < p <= 0
    e = shift_right(a * (p + b) ** 2 + c, z)  # numerator >= 0 by the attribute checks
    s = e.sum(axis=-1, keepdims=True)  # >= A*B^2 + C >= 1 (the maximum contributes it unshifted)
    return [np.clip(np.floor_divide(e * (n - 1), s), 0, n - 1)]


def square_range(lo: int, hi: int) -> Range:
    if lo >= 0:
        return lo * lo, hi * hi
    if hi <= 0:
        return hi * hi, lo * lo
    return 0, max(lo * lo, hi * hi)


def c_int_type(lo: int, hi: int, what: str) -> str:
    """int32_t/int64_t for an intermediate range; an error naming the value when even int64 overflows."""
    if lo >= -(2**31) and hi < 2**31:
        return "int32_t"
    if lo >= -(2**63) and hi < 2**63:
        return "int64_t"
    raise OpError(f"{what} reaches [{lo}, {hi}], beyond 64-bit integers")


def magic_divider(d: int, n_max: int) -> tuple[int, int] | None:
    """(M, S) with (n * M) >> S == n // d for every 0 <= n <= n_max and n_max * M < 2^31 (checked on every n),
    so a kernel divides by the constant d with one multiply and one shift; None when no such pair exists or
    n_max is too large to check."""
    if d < 1 or n_max < 0 or n_max > 1 << 16:
        return None
    n = np.arange(n_max + 1, dtype=np.int64)
    for shift in range(32):
        m = -(-(1 << shift) // d)
        if n_max * m >= 2**31:
            return None
        if np.array_equal((n * m) >> shift, n // d):
            return m, shift
    return None


def rows_of(shape: tuple[int, ...]) -> tuple[int, int]:
    """(number of rows, row length) of a row-wise kernel over the last axis; 0 rows when empty."""
    n_last = shape[-1]
    size = int(np.prod(shape, dtype=np.int64))
    return (size // n_last if size else 0), n_last


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    lo, hi = rng(x)
    a, b, c, log2, n = (k.attrs[key] for key in ("coeffA", "coeffB", "coeffC", "log2", "n_levels"))
    rows, n_last = rows_of(x.shape)
    span = hi - lo  # largest max - x
    dt = c_int_type(-span, span, "max(x) - x")
    pb = (max(-span, 1 - log2) + b, b)  # p + B with -log2 < p <= 0 (and p >= -span)
    sq = square_range(*pb)
    t_hi = a * sq[1] + c
    tt = c_int_type(min(pb[0], 0), max(t_hi, abs(pb[0]), abs(pb[1])), "the iSoftmax exponent term")
    st = c_int_type(0, max(t_hi * max(n_last, 1), t_hi * (n - 1)), "the iSoftmax row sum")
    return {"rows": rows, "L": n_last, "dt": dt, "tt": tt, "st": st, "zmax": span // log2,
            "tbits": 32 if tt == "int32_t" else 64,
            "zdiv": magic_divider(log2, span) if dt == "int32_t" else None,
            # a row's exponent terms kept on the stack between the sum and the division (at most 1 KiB, like the
            # conv kernel's gather buffer)
            "ecache": n_last * (4 if tt == "int32_t" else 8) <= 1024,
            # the row normalization by a 32-bit reciprocal: terms below 2^nshift, (n - 1) * 2^nshift in 32 bits
            "nshift": (t_hi.bit_length() if (n - 1) << t_hi.bit_length() < 2**32 and a >= 0 and c >= 0 else None),
            "result_range": (0, n - 1), "rq": None}


SPEC = register(OpSpec(
    name="iSoftmax",
    attrs={
        # A >= 0 and C >= 1 keep every exponent term non-negative and the row sum positive.
        "coeffA": Int(min=0),
        "coeffB": Int(),
        "coeffC": Int(min=1),
        "log2": Int(min=1),
        "n_levels": Int(256, min=2),
    },
    inputs=(1, 1),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="i_softmax",
    kernel_args=kernel_args,
    tiling=rowwise(),
    doc="I-BERT integer softmax over the last axis, output floor(e*(n-1)/sum(e)) in 0..n-1",
))
