"""The integer operators as PyTorch custom ops: ``torch.ops.deeploy.<snake_name>``.

Each op is a ``torch.library.custom_op`` whose eager implementation calls the numpy reference of the IR
op (the contract, OPERATORS.md), so eager PyTorch, the reference runner and the C kernels agree bit for
bit; a fake implementation gives the output shape and dtype, so the ops survive ``torch.export`` and
``torch.compile`` as single nodes. Importing this module registers them (needs torch).

Tensors may hold integers in float32 (QuantLib style) or be integer tensors. The result keeps a float
input's dtype; for integer inputs it is int32 (int64 for int64 inputs). Float inputs must hold exact
integers: a non-integer value is an error, not a silent rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from torch_deeploy.ops import registry

NAMESPACE = "deeploy"
# torch.ops.deeploy.<name> -> IR op name; the custom op's argument names are the IR attribute names.
IR_OPS: dict[str, str] = {
    "requant_shift": "RequantShift",
    "i_softmax": "iSoftmax",
    "ita_max": "ITAMax",
    "i_rms_norm": "iRMSNorm",
    "i_layer_norm": "iLayerNorm",
    "i_gelu": "iGELU",
    "i_hardswish": "iHardswish",
    "i_no_norm": "iNoNorm",
    "true_integer_div": "TrueIntegerDiv",
    "integer_div": "IntegerDiv",
    "integer_mean": "IntegerMean",
    "kv_cache_write": "KVCacheWrite",
}


def result_dtype(x: torch.Tensor) -> torch.dtype:
    if x.dtype.is_floating_point:
        return x.dtype
    return torch.int64 if x.dtype == torch.int64 else torch.int32


def _run(op: str, tensors: list[torch.Tensor], attrs: dict[str, Any]) -> torch.Tensor:
    """Eager implementation: the IR op's numpy reference on the tensors' values."""
    spec = registry.get(op)
    arrays = [t.detach().cpu().numpy() for t in tensors]
    out = spec.reference(arrays, spec.validate_attrs(attrs))[0]  # type: ignore[arg-type]
    dtype = result_dtype(tensors[0])
    return torch.from_numpy(np.ascontiguousarray(out).astype(np.float64 if dtype.is_floating_point else np.int64)
                            ).to(dtype=dtype, device=tensors[0].device)


def _like(x: torch.Tensor, shape: Any = None) -> torch.Tensor:
    return x.new_empty(x.shape if shape is None else shape, dtype=result_dtype(x))


def _broadcast(x: torch.Tensor, *others: torch.Tensor) -> torch.Tensor:
    return x.new_empty(torch.broadcast_shapes(x.shape, *(o.shape for o in others)), dtype=result_dtype(x))


@torch.library.custom_op("deeploy::requant_shift", mutates_args=())
def requant_shift(x: torch.Tensor, mul: torch.Tensor, add: torch.Tensor, div: int, n_levels_out: int = 256,
                  signed: bool = True) -> torch.Tensor:
    """saturate(floor((x*mul + add + div/2) / div)); mul/add per tensor or per channel (axis 1)."""
    return _run("RequantShift", [x, mul, add], {"div": div, "n_levels_out": n_levels_out, "signed": int(signed)})


@requant_shift.register_fake
def _(x: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _like(x)


@torch.library.custom_op("deeploy::i_softmax", mutates_args=())
def i_softmax(x: torch.Tensor, coeffA: int, coeffB: int, coeffC: int, log2: int,
              n_levels: int = 256) -> torch.Tensor:
    """I-BERT integer softmax over the last axis, output 0..n_levels-1."""
    return _run("iSoftmax", [x], {"coeffA": coeffA, "coeffB": coeffB, "coeffC": coeffC, "log2": log2,
                                  "n_levels": n_levels})


@i_softmax.register_fake
def _(x: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _like(x)


@torch.library.custom_op("deeploy::ita_max", mutates_args=())
def ita_max(x: torch.Tensor, n_levels: int = 256) -> torch.Tensor:
    """ITA integer softmax over the last axis, output 0..n_levels-1."""
    return _run("ITAMax", [x], {"n_levels": n_levels})


@ita_max.register_fake
def _(x: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _like(x)


@torch.library.custom_op("deeploy::i_rms_norm", mutates_args=())
def i_rms_norm(x: torch.Tensor, weight: torch.Tensor, D: int, n_levels: int = 256) -> torch.Tensor:
    """Integer RMSNorm over the last axis."""
    return _run("iRMSNorm", [x, weight], {"D": D, "n_levels": n_levels})


@i_rms_norm.register_fake
def _(x: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _like(x)


@torch.library.custom_op("deeploy::i_layer_norm", mutates_args=())
def i_layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, D: int,
                 n_levels: int = 256) -> torch.Tensor:
    """Integer LayerNorm over the last axis."""
    return _run("iLayerNorm", [x, weight, bias], {"D": D, "n_levels": n_levels})


@i_layer_norm.register_fake
def _(x: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _like(x)


@torch.library.custom_op("deeploy::i_gelu", mutates_args=())
def i_gelu(x: torch.Tensor, b: int, one: int) -> torch.Tensor:
    """I-BERT polynomial GELU (not requantised)."""
    return _run("iGELU", [x], {"b": b, "one": one})


@i_gelu.register_fake
def _(x: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _like(x)


@torch.library.custom_op("deeploy::i_hardswish", mutates_args=())
def i_hardswish(x: torch.Tensor, three: int, six: int, one_over_six: int) -> torch.Tensor:
    """x * (clip(x + three, 0, six) * one_over_six) (not requantised)."""
    return _run("iHardswish", [x], {"three": three, "six": six, "one_over_six": one_over_six})


@i_hardswish.register_fake
def _(x: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _like(x)


@torch.library.custom_op("deeploy::i_no_norm", mutates_args=())
def i_no_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, D: int, mul: int,
              n_levels: int = 256) -> torch.Tensor:
    """floor((x*weight + bias)*mul / D), saturated."""
    return _run("iNoNorm", [x, weight, bias], {"D": D, "mul": mul, "n_levels": n_levels})


@i_no_norm.register_fake
def _(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _broadcast(x, weight, bias)


@torch.library.custom_op("deeploy::true_integer_div", mutates_args=())
def true_integer_div(x: torch.Tensor, Delta: int, eps: int, eta: int, y: int) -> torch.Tensor:
    """x * floor(Delta*eta / (y*eta + eps)): QuantLib's division by the constant y."""
    return _run("TrueIntegerDiv", [x], {"Delta": Delta, "eps": eps, "eta": eta, "y": y})


@true_integer_div.register_fake
def _(x: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _like(x)


@torch.library.custom_op("deeploy::integer_div", mutates_args=())
def integer_div(x: torch.Tensor, y: torch.Tensor, Delta: int, eps: int, eta: int) -> torch.Tensor:
    """round_half_up(x*Delta*eta / (y*eta + eps)), elementwise with broadcasting."""
    return _run("IntegerDiv", [x, y], {"Delta": Delta, "eps": eps, "eta": eta})


@integer_div.register_fake
def _(x: torch.Tensor, y: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return _broadcast(x, y)


@torch.library.custom_op("deeploy::integer_mean", mutates_args=())
def integer_mean(x: torch.Tensor, axes: list[int] | None = None, keepdims: bool = True) -> torch.Tensor:
    """Mean over axes (all when None) rounded half up."""
    return _run("IntegerMean", [x], {"axes": None if axes is None else tuple(axes), "keepdims": int(keepdims)})


@torch.library.custom_op("deeploy::kv_cache_write", mutates_args=())
def kv_cache_write(cache: torch.Tensor, row: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    """cache with row written at clip(pos, 0, T-1) along axis -2. Functional here; the compiled program
    writes in place into the cache's buffer (a statically allocated KV cache)."""
    return _run("KVCacheWrite", [cache, row, pos], {})


@kv_cache_write.register_fake
def _(cache: torch.Tensor, row: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    return _like(cache)


@integer_mean.register_fake
def _(x: torch.Tensor, axes: list[int] | None = None, keepdims: bool = True) -> torch.Tensor:
    rank = x.dim()
    red = {a % rank for a in axes} if axes else set(range(rank))
    shape = [1 if i in red else s for i, s in enumerate(x.shape)] if keepdims else \
        [s for i, s in enumerate(x.shape) if i not in red]
    return x.new_empty(shape, dtype=result_dtype(x))


def is_deeploy_op(target: Any) -> bool:
    """True for torch.ops.deeploy.<name> (packet or overload)."""
    return getattr(target, "namespace", None) == NAMESPACE


def ir_op_of(target: Any) -> str:
    """IR op name of a torch.ops.deeploy overload, e.g. torch.ops.deeploy.requant_shift.default -> RequantShift."""
    name = getattr(target, "_name", None) or str(target)
    short = name.split("::")[-1].split(".")[0]
    return IR_OPS[short]
