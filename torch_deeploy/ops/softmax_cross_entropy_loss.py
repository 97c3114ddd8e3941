"""SoftmaxCrossEntropyLoss with Deeploy's meaning: ONE output, the log-probabilities of the scores.

The output is logits - max - log(sum(exp(logits - max))) over the class axis (1), shape of the scores
(OPERATORS.md); the ONNX loss value itself is not produced. labels/weights only get shape checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import Attr, InferCtx, KernelNode, OpSpec, Str
from torch_deeploy.ops.registry import register
from torch_deeploy.ops.softmax import line_args


def infer(ctx: InferCtx) -> list[TensorType]:
    x, labels = ctx.input(0), ctx.input(1)
    if x.rank < 2:
        raise ctx.fail(f"scores must be (N, C, ...), got shape {list(x.shape)}")
    want = (x.shape[0], *x.shape[2:])
    if labels.shape != want:
        raise ctx.fail(f"labels must have shape {list(want)} for scores {list(x.shape)}, "
                       f"got {list(labels.shape)}")
    if ctx.has_input(2) and ctx.input(2).shape != (x.shape[1],):
        raise ctx.fail(f"weights must have shape [{x.shape[1]}], got {list(ctx.input(2).shape)}")
    return [TensorType.floating(x.shape)]


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    d = x - np.max(x, axis=axis, keepdims=True)
    return d - np.log(np.sum(np.exp(d), axis=axis, keepdims=True))


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    x = np.asarray(inputs[0], dtype=np.float64)
    if x.size == 0:
        return [x.astype(np.float32)]
    return [log_softmax(x, 1).astype(np.float32)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    x = k.inputs[0]
    assert x is not None
    return line_args(x.shape, 1, True)


SPEC = register(OpSpec(
    name="SoftmaxCrossEntropyLoss",
    attrs={
        "ignore_index": Attr("int", None),  # affects only the (not produced) loss value
        "reduction": Str("mean", choices=("none", "sum", "mean")),
    },
    inputs=(2, 3),
    outputs=(1, 1),
    infer=infer,
    reference=reference,
    kernel="softmax",  # log-softmax variant of csrc_templates/kernels/softmax.c.j2
    kernel_args=kernel_args,
    doc="Deeploy training op: log-softmax of the scores over axis 1 (single output)",
    extras={"float_only": True},
))
