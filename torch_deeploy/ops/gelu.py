"""Gelu (float): x * Phi(x), exact (erf) or the tanh approximation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import InferCtx, OpSpec, Str
from torch_deeploy.ops.registry import register

_erf = np.vectorize(math.erf, otypes=[np.float64])


def infer(ctx: InferCtx) -> list[TensorType]:
    return [TensorType.floating(ctx.input(0).shape)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = np.asarray(inputs[0], dtype=np.float64)
    if x.size == 0:
        return [x.astype(np.float32)]
    if attrs["approximate"] == "tanh":
        y = 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    else:
        y = 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    return [y.astype(np.float32)]


SPEC = register(OpSpec(
    name="Gelu",
    attrs={"approximate": Str("none", choices=("none", "tanh"))},
    infer=infer,
    reference=reference,
    domains=("", "com.microsoft"),
    kernel="gelu",
    tiling=elementwise(),
    doc="float GELU: erf form ('none') or tanh approximation",
    extras={"float_only": True},
))
