"""Shared machinery of the elementwise binary ops (Add, Sub, Mul): one place for broadcasting, the
integer/float decision and range propagation, so the three op files only state their arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from torch_deeploy.backend.cindex import bcast
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops.base import InferCtx, KernelNode, OpSpec
from torch_deeploy.ops.common import Range, any_float, as_int, broadcast_shapes, rng
from torch_deeploy.ops.registry import register

ArrayFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def is_float_array(a: np.ndarray | None) -> bool:
    return a is not None and np.asarray(a).dtype.kind == "f"


INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def integer_type(shape: tuple[int, ...], lo: int, hi: int) -> TensorType:
    """Integer output type, range clamped to int64: the int64 reference cannot produce anything wider.

    Only wide declared inputs (e.g. full-range int32 graph inputs) get near this bound; then the range
    is not informative and the tensor is int64 (narrowing such inputs is the frontend's job).
    """
    return TensorType.integer(shape, max(lo, INT64_MIN), min(hi, INT64_MAX))


def _kernel_args(k: KernelNode, symbol: str, range_fn: Callable[[Range, Range], Range]) -> dict[str, Any]:
    a, b = k.inputs[0], k.inputs[1]
    y = k.outputs[0]
    assert a is not None and b is not None
    result: Range | None = None
    if y.is_float:
        calc = "float"
    else:
        result = range_fn(rng(a), rng(b))
        calc = "int32_t" if result[0] >= -(2**31) and result[1] < 2**31 else "int64_t"
    return {"symbol": symbol, "calc": calc, "ba": bcast(a.shape, y.shape), "bb": bcast(b.shape, y.shape),
            "result_range": result, "rq": None}


def binary_spec(name: str, fn: ArrayFn, range_fn: Callable[[Range, Range], Range], doc: str,
                symbol: str = "+") -> OpSpec:
    """Register an elementwise binary op: numpy broadcasting, exact int64 math, float32 if any input is float.

    fn computes the op on two arrays of the same kind (both int64 or both float32); range_fn maps the
    input value ranges to the output range (interval arithmetic, covers every broadcast pairing).
    """

    def infer(ctx: InferCtx) -> list[TensorType]:
        a, b = ctx.input(0), ctx.input(1)
        shape = broadcast_shapes(a.shape, b.shape)
        if any_float(a, b):
            return [TensorType.floating(shape)]
        lo, hi = range_fn(rng(a), rng(b))
        return [integer_type(shape, lo, hi)]

    def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
        a, b = (np.asarray(x) for x in inputs[:2])  # type: ignore[arg-type]
        if is_float_array(a) or is_float_array(b):
            return [fn(a.astype(np.float32), b.astype(np.float32)).astype(np.float32)]
        return [fn(as_int(a), as_int(b))]

    return register(OpSpec(
        name=name,
        inputs=(2, 2),
        infer=infer,
        reference=reference,
        kernel="binary",
        kernel_args=lambda k: _kernel_args(k, symbol, range_fn),
        tiling=elementwise(),
        doc=doc,
    ))

