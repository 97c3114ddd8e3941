"""SoftmaxCrossEntropyLossGrad (com.microsoft, Deeploy form): (exp(log_prob) - onehot(labels)) / N^2.

Deeploy divides by the batch size twice for reduction='mean' (only N = 1 occurs in the networks, so the
exponent is not pinned down by goldens); reduction='sum' does not divide. Rows whose label equals
ignore_index get a zero gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from torch_deeploy.errors import OpError
from torch_deeploy.ir.graph import TensorType
from torch_deeploy.ops.base import Attr, InferCtx, KernelNode, OpSpec, Str
from torch_deeploy.ops.registry import register


def infer(ctx: InferCtx) -> list[TensorType]:
    lp, labels = ctx.input(0), ctx.input(1)
    if lp.rank != 2:
        raise ctx.fail(f"log_prob must be 2-D (N, C), got shape {list(lp.shape)}")
    if labels.shape != (lp.shape[0],):
        raise ctx.fail(f"labels must have shape [{lp.shape[0]}], got {list(labels.shape)}")
    return [TensorType.floating(lp.shape)]


def reference(inputs: list[np.ndarray | None], attrs: dict[str, Any]) -> list[np.ndarray]:
    lp = np.asarray(inputs[0], dtype=np.float64)
    lab_f = np.asarray(inputs[1])
    if lab_f.dtype.kind == "f" and not np.array_equal(np.rint(lab_f), lab_f):
        raise OpError("labels must hold integers")
    labels = np.rint(lab_f).astype(np.int64)
    n, c = lp.shape
    keep = np.ones(n, dtype=bool) if attrs["ignore_index"] is None else labels != attrs["ignore_index"]
    if np.any(keep & ((labels < 0) | (labels >= c))):
        raise OpError(f"labels must lie in 0..{c - 1}")
    onehot = np.zeros_like(lp)
    onehot[np.arange(n)[keep], labels[keep]] = 1.0
    grad = (np.exp(lp) - onehot) * keep[:, None]
    if attrs["reduction"] == "mean" and n:
        grad = grad / (n * n)
    return [grad.astype(np.float32)]


def kernel_args(k: KernelNode) -> dict[str, Any]:
    lp = k.inputs[0]
    assert lp is not None
    return {"nb": lp.shape[0], "c": lp.shape[1]}


SPEC = register(OpSpec(
    name="SoftmaxCrossEntropyLossGrad",
    attrs={
        "reduction": Str("mean", choices=("mean", "sum")),
        "ignore_index": Attr("int", None),
    },
    inputs=(2, 2),
    infer=infer,
    reference=reference,
    domains=("com.microsoft",),
    kernel="softmax_cross_entropy_loss_grad",
    kernel_args=kernel_args,
    doc="Deeploy training op: gradient of the softmax cross-entropy w.r.t. the scores",
    extras={"float_only": True},
))
