"""RequantShift: y = saturate(floor((x*mul + add + div/2) / div)), the integer requantizer of QuantLib."""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.backend.cindex import channel_bcast
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.midend.regions import elementwise
from torch_deeploy.ops._fused import register_fused
from torch_deeploy.ops._linear import fits_int32
from torch_deeploy.ops.base import InferCtx, Int, KernelNode, OpSpec
from torch_deeploy.ops.common import as_int, channel_param, mul_ranges, rng
from torch_deeploy.ops.registry import register


def out_bounds(attrs: dict[str, Any]) -> tuple[int, int]:
    n = attrs["n_levels_out"]
    return (-(n // 2), n // 2 - 1) if attrs["signed"] else (0, n - 1)


def infer(ctx: InferCtx) -> list[TensorType]:
    x = ctx.input(0)
    rng(x)
    for i, what in ((1, "mul"), (2, "add")):
        p = ctx.input(i)
        if p.is_float:
            raise ctx.fail(f"{what} must hold integers, got {p.dtype}")
        if ctx.consts[i] is not None:
            channel_param(ctx.consts[i], x.shape)  # raises if it does not fit
    lo, hi = out_bounds(ctx.attrs)
    return [TensorType.integer(x.shape, lo, hi)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x, mul, add = (as_int(a) for a in inputs)  # type: ignore[arg-type]
    div = attrs["div"]
    t = x * channel_param(mul, x.shape) + channel_param(add, x.shape) + div // 2
    lo, hi = out_bounds(attrs)
    return [np.clip(np.floor_divide(t, div), lo, hi)]


# Attributes of a RequantShift with scalar mul/add folded into the op that produces its input
# (RequantizedGemm, RequantizedMatMul; see passes/fold_requant.py).
EPILOGUE_ATTRS = {"mul": Int(), "add": Int(0), "div": Int(power_of_two=True), "n_levels_out": Int(256, min=2),
                  "signed": Int(1, choices=(0, 1))}


def apply_epilogue(y: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    """The folded RequantShift applied to the producer's exact integer result."""
    return reference([y, np.array(attrs["mul"]), np.array(attrs["add"])], attrs)[0]


def epilogue_args(value_range: tuple[int, int], attrs: dict[str, Any]) -> dict[str, Any]:
    """What the linear templates' requantizing output stage needs: the constants and the C type that holds
    v * mul + add + div/2 for every v in value_range without overflow."""
    p = mul_ranges(value_range, (attrs["mul"], attrs["mul"]))
    half = attrs["div"] // 2
    wide = p[0] + min(attrs["add"], 0) < -(2**31) or p[1] + max(attrs["add"], 0) + half >= 2**31
    lo, hi = out_bounds(attrs)
    args = {"mul": attrs["mul"], "add": attrs["add"] + half, "log2d": attrs["div"].bit_length() - 1, "lo": lo,
            "hi": hi, "ctype": "int64_t" if wide else "int32_t", "preclip": None}
    pre = preclip_bounds(value_range, attrs["mul"], attrs["add"] + half, attrs["div"], lo, hi) if wide else None
    if pre is not None:
        args.update(ctype="int32_t", preclip=pre)
    return args


def preclip_bounds(value_range: tuple[int, int], mul: int, add_half: int, div: int, lo: int, hi: int
                   ) -> tuple[int, int] | None:
    """(v_lo, v_hi) such that clamping v to them first changes no output of clip(floor((v*mul + add_half) / div),
    lo, hi), and after which v*mul + add_half fits int32; None when there are none (mul <= 0, v beyond int32, or
    an output range too wide for the 32-bit datapath).

    With mul > 0 the requantization is monotone in v: below v_lo = ceil(((lo+1)*div - add_half) / mul) - 1 every
    output is lo, from v_hi = ceil((hi*div - add_half) / mul) on every output is hi. So a 64-bit requantization
    (v*mul beyond 32 bits, but only where the output saturates) becomes a clamp and 32-bit arithmetic."""
    if mul <= 0 or not fits_int32(value_range):
        return None
    v_lo = -((add_half - (lo + 1) * div) // mul) - 1  # ceil(((lo+1)*div - add_half) / mul) - 1
    v_hi = -((add_half - hi * div) // mul)  # ceil((hi*div - add_half) / mul)
    v_lo, v_hi = max(v_lo, value_range[0]), min(v_hi, value_range[1])
    if v_lo > v_hi:
        return None
    t_lo, t_hi = v_lo * mul + add_half, v_hi * mul + add_half
    if not fits_int32((t_lo, t_hi), (v_lo, v_hi)):
        return None
    return v_lo, v_hi


def with_epilogue(op: str, infer_base: Any, reference_base: Any, kernel_args_base: Any) -> tuple[Any, Any, Any]:
    """(infer, reference, kernel_args) of `op` = a linear op followed by the folded RequantShift; the base
    kernel_args must report the range of its exact results as "result_range"."""

    def infer(ctx: InferCtx) -> list[TensorType]:
        (y,) = infer_base(ctx)
        if y.is_float:
            raise ctx.fail(f"{op} needs integer operands")
        return [TensorType.integer(y.shape, *out_bounds(ctx.attrs))]

    def reference_fused(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
        (y,) = reference_base(inputs, attrs)
        return [apply_epilogue(y, attrs)]

    def kernel_args_fused(k: KernelNode) -> dict[str, Any]:
        args = kernel_args_base(k)
        return {**args, "rq": epilogue_args(args["result_range"], k.attrs)}

    return infer, reference_fused, kernel_args_fused


def fused_spec(base: OpSpec) -> OpSpec:
    """Register Requantized<base>: the integer op `base` followed by a RequantShift with scalar mul/add, made by
    passes/fold_requant.py. Same inputs, kernel template, tiling and attributes as `base`, plus the epilogue's;
    the template applies the requantization in its output stage (the `rq` kernel argument)."""
    name = "Requantized" + base.name.removeprefix("i")
    assert base.kernel_args is not None
    infer_fused, reference_fused, kernel_args_fused = with_epilogue(name, base.infer, base.reference,
                                                                    base.kernel_args)
    return register_fused(base, name, EPILOGUE_ATTRS, infer_fused, reference_fused, kernel_args_fused,
                          "RequantShift with scalar mul/add", "passes/fold_requant.py")


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x, mul, add = k.inputs
    assert x is not None and mul is not None and add is not None
    lo, hi = out_bounds(k.attrs)
    xr, mr, ar = rng(x), rng(mul), rng(add)
    p = mul_ranges(xr, mr)
    half = k.attrs["div"] // 2
    acc = "int32_t" if p[0] + ar[0] >= -(2**31) and p[1] + ar[1] + half < 2**31 else "int64_t"
    return {"bmul": channel_bcast(mul.shape, x.shape), "badd": channel_bcast(add.shape, x.shape),
            "log2d": k.attrs["div"].bit_length() - 1, "lo": lo, "hi": hi, "acc": acc}


SPEC = register(OpSpec(
    name="RequantShift",
    attrs={
        "div": Int(power_of_two=True),
        "n_levels_out": Int(256, min=2, aliases=("n_levels",)),
        "signed": Int(1, choices=(0, 1)),
    },
    inputs=(3, 3),
    infer=infer,
    reference=reference,
    domains=("", "PACTOps", "ai.onnx.contrib"),
    kernel="requant_shift",
    kernel_args=kernel_args,
    tiling=elementwise(channel_params=(1, 2)),
    doc="multiply, add, round half up, arithmetic shift, saturate (OPERATORS.md RequantShift)",
))
