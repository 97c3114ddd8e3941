"""iSoftmax: I-BERT integer softmax over the last axis (OPERATORS.md iSoftmax), unsigned output 0..n-1."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import InferCtx, Int, OpSpec
from torch_deeploy.ops.common import as_int, rng
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
    doc="I-BERT integer softmax over the last axis, output floor(e*(n-1)/sum(e)) in 0..n-1",
))
