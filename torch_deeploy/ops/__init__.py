"""Operators: one module per op, each registering one OpSpec. This list is the registry's only source."""

from importlib import import_module

_MODULES = (
    # integer requantization and QuantLib integer ops
    "requant_shift",
    # -- integer custom ops --
    "kv_cache_write",
    "i_softmax",
    "ita_max",
    "i_rms_norm",
    "i_layer_norm",
    "i_gelu",
    "i_hardswish",
    "i_no_norm",
    "true_integer_div",
    "integer_div",
    "integer_mean",
    # -- arithmetic, linear, conv, pooling, reductions --
    "add", "sub", "mul", "div", "matmul", "gemm", "conv", "max_pool", "pad",
    "reduce_sum", "reduce_mean", "clip", "round", "relu",
    # -- data movement and float-only ops --
    "reshape", "flatten", "transpose", "concat", "slice", "gather", "identity", "squeeze", "unsqueeze",
    "cast", "shape",
    "batch_normalization", "layer_normalization", "softmax", "gelu", "conv_transpose",
    "softmax_cross_entropy_loss", "softmax_cross_entropy_loss_grad", "sgd",
    # -- engine jobs produced by lowering passes --
    "neureka_conv",
    # -- fused ops produced by lowering passes --
    "requantized_gemm", "requantized_matmul", "requantized_conv", "requantized_add", "requantized_sub",
    "requantized_mul", "requantized_hardswish", "requantized_true_integer_div",
    "requantized_softmax", "channel_requantized_gemm", "clipped_add", "clipped_sub", "clipped_mul",
)

for _m in _MODULES:
    import_module(f"torch_deeploy.ops.{_m}")

from torch_deeploy.ops.registry import OPS, get  # noqa: E402

__all__ = ["OPS", "get"]
