"""Clip: y = min(max(x, lo), hi) with lo/hi as optional inputs (opset >= 11) or attributes (opset < 11).

Integer inputs need integral bounds and give an integer output whose range is the clipped input range;
if any operand is float the output is float. lo > hi gives hi everywhere (ONNX's order of min and max).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops._elementwise import is_float_array
from torch_deeploy.ops._fused import register_fused
from torch_deeploy.ops._linear import fits_int32
from torch_deeploy.ops.base import Attr, InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import as_int, rng
from torch_deeploy.ops.registry import register


def _bounds(inputs: list[Any], attrs: dict[str, Any]) -> tuple[Any, Any]:
    """(min, max) operands, each an array, a float, or None (unbounded)."""
    lo_in = inputs[1] if len(inputs) > 1 else None
    hi_in = inputs[2] if len(inputs) > 2 else None
    if (attrs["min"] is not None and lo_in is not None) or (attrs["max"] is not None and hi_in is not None):
        raise OpError("min/max are given both as attributes and as inputs; use one form")
    lo = lo_in if lo_in is not None else attrs["min"]
    hi = hi_in if hi_in is not None else attrs["max"]
    return lo, hi


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    for i, what in ((1, "min"), (2, "max")):
        if ctx.has_input(i) and ctx.input(i).size != 1:
            raise ctx.fail(f"{what} must be a scalar, got shape {list(ctx.input(i).shape)}")
    lo_t = ctx.inputs[1] if ctx.has_input(1) else None
    hi_t = ctx.inputs[2] if ctx.has_input(2) else None
    if x.is_float or (lo_t is not None and lo_t.is_float) or (hi_t is not None and hi_t.is_float):
        return [TensorType.floating(x.shape)]
    lo, hi = rng(x)
    for t, key, is_min in ((lo_t, "min", True), (hi_t, "max", False)):
        if t is not None:
            b = rng(t)
        elif ctx.attrs[key] is not None:
            v = ctx.attrs[key]
            if not float(v).is_integer():
                raise ctx.fail(f"{key}={v} is not an integer but the input holds integers")
            b = (int(v), int(v))
        else:
            continue
        lo, hi = (max(lo, b[0]), max(hi, b[1])) if is_min else (min(lo, b[0]), min(hi, b[1]))
    return [TensorType.integer(x.shape, lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = np.asarray(inputs[0])
    lo, hi = _bounds(inputs, attrs)
    if any(is_float_array(a) for a in (x, lo, hi)) or any(isinstance(a, float) and not a.is_integer()
                                                           for a in (lo, hi)):
        y = x.astype(np.float32)
        if lo is not None:
            y = np.maximum(y, np.float32(np.asarray(lo).reshape(-1)[0]))
        if hi is not None:
            y = np.minimum(y, np.float32(np.asarray(hi).reshape(-1)[0]))
        return [y.astype(np.float32)]
    y = as_int(x)
    if lo is not None:
        y = np.maximum(y, int(np.asarray(lo).reshape(-1)[0]))
    if hi is not None:
        y = np.minimum(y, int(np.asarray(hi).reshape(-1)[0]))
    return [y]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    """Each bound: ("in", i) read from input i at run time, ("lit", value) from an attribute, or None."""
    y = k.outputs[0]
    bnds: list[tuple[str, Any] | None] = []
    for i, key in ((1, "min"), (2, "max")):
        if i < len(k.inputs) and k.inputs[i] is not None:
            bnds.append(("in", i))
        elif k.attrs[key] is not None:
            v = float(k.attrs[key])
            bnds.append(("lit", v if y.is_float else int(v)))
        else:
            bnds.append(None)
    if y.is_float:
        return {"lo_b": bnds[0], "hi_b": bnds[1], "calc": "float"}
    # 32-bit compares when the input and both bounds are 32-bit values (int32 loads, no 64-bit compare pairs)
    vals = [rng(k.inputs[0])]
    for b in bnds:
        if b is not None:
            vals.append(rng(k.inputs[b[1]]) if b[0] == "in" else (b[1], b[1]))
    return {"lo_b": bnds[0], "hi_b": bnds[1], "calc": "int32_t" if fits_int32(*vals) else "int64_t"}


SPEC = register(OpSpec(
    name="Clip",
    attrs={"min": Attr("float", None), "max": Attr("float", None)},
    inputs=(1, 3),
    infer=infer,
    reference=reference,
    kernel="clip",
    kernel_args=kernel_args,
    tiling=elementwise(),
    doc="saturate to [min, max] (optional inputs, or attributes before opset 11); integer or float",
))


# ---- Clip folded into the elementwise op that produces its input (passes/fold_clip.py) ----

FUSED_ATTRS = {"clip_min": Int(), "clip_max": Int()}


def clipped_range(r: tuple[int, int], lo: int, hi: int) -> tuple[int, int]:
    """Range of min(max(v, lo), hi) for v in r (ONNX order: with lo > hi every output is hi)."""
    return min(max(r[0], lo), hi), min(max(r[1], lo), hi)


def fused_spec(base: OpSpec) -> OpSpec:
    """Register Clipped<base>: the integer op `base` followed by a Clip with constant bounds, made by
    passes/fold_clip.py. Same inputs, kernel template and tiling as `base`; the template clamps each result in its
    output stage (the "clip" kernel argument), so the unclipped intermediate never goes to memory."""
    name = "Clipped" + base.name
    assert base.kernel_args is not None
    base_args = base.kernel_args

    def infer_fused(ctx: InferCtx) -> list[TensorType]:
        (y,) = base.infer(ctx)
        if y.is_float:
            raise ctx.fail(f"{name} needs integer operands")
        return [TensorType.integer(y.shape, *clipped_range(rng(y), ctx.attrs["clip_min"], ctx.attrs["clip_max"]))]

    def reference_fused(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
        (y,) = base.reference(inputs, attrs)
        return [np.minimum(np.maximum(as_int(y), attrs["clip_min"]), attrs["clip_max"])]

    def kernel_args_fused(k: KernelNode) -> dict[str, Any]:
        args = base_args(k)
        lo, hi = k.attrs["clip_min"], k.attrs["clip_max"]
        if args.get("calc") == "int32_t" and lo <= hi:  # bounds beyond int32 change no int32 value
            lo, hi = max(lo, -(2**31)), min(hi, 2**31 - 1)
        ctype = args.get("calc") if fits_int32((lo, hi)) else "int64_t"
        return {**args, "clip": (lo, hi, ctype)}

    return register_fused(base, name, FUSED_ATTRS, infer_fused, reference_fused, kernel_args_fused,
                          "Clip with constant bounds", "passes/fold_clip.py")
