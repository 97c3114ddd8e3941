"""ITAMax: the ITA accelerator's integer softmax over the last axis (OPERATORS.md ITAMax), output 0..n-1."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import rowwise
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import as_int, rng
from torch_deeploy.ops.i_softmax import c_int_type, rows_of, shift_right
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    rng(x)
    if x.rank < 1:
        raise ctx.fail("input must have at least one dimension (softmax runs over the last axis)")
    return [TensorType.integer(x.shape, 0, ctx.attrs["n_levels"] - 1)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = as_int(inputs[0])  # type: ignore[arg-type]
    n = attrs["n_levels"]
    if x.size == 0:
        return [np.zeros(x.shape, dtype=np.int64)]
    bits = n.bit_length() - 1  # B = log2(n)
    diff = x.max(axis=-1, keepdims=True) - x  # >= 0
    shift = (diff * bits + (1 << (bits - 1))) >> bits  # floor(diff*B/2^B + 1/2)
    expsum = shift_right(np.int64(n), shift).sum(axis=-1, keepdims=True)  # >= n: the max has shift 0
    inv = (n * (n - 1)) // expsum  # <= n-1
    return [shift_right(inv, shift)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    lo, hi = rng(x)
    n = k.attrs["n_levels"]
    bits = n.bit_length() - 1
    rows, n_last = rows_of(x.shape)
    span = hi - lo
    d_hi = span * bits + (1 << (bits - 1))
    dt = c_int_type(-span, d_hi, "(max(x) - x)*log2(n)")
    et = c_int_type(0, max(n * (n - 1), n * max(n_last, 1)), "the ITAMax row sum")
    return {"rows": rows, "L": n_last, "bits": bits, "dt": dt, "et": et, "smax": d_hi >> bits,
            "ebits": 32 if et == "int32_t" else 64}


SPEC = register(OpSpec(
    name="ITAMax",
    attrs={"n_levels": Int(256, min=2, power_of_two=True)},
    inputs=(1, 1),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="ita_max",
    kernel_args=kernel_args,
    tiling=rowwise(),
    doc="ITA integer softmax over the last axis with power-of-two exponentials, output 0..n-1",
))
