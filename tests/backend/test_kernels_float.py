"""C kernels of the float-only ops (BatchNormalization, LayerNormalization, Softmax, Gelu, ConvTranspose,
SoftmaxCrossEntropyLoss, SoftmaxCrossEntropyLossGrad, SGD) against the float64 numpy references within
1e-5 absolute, on the host runner (8 emulated cores: odd sizes exercise the work split)."""

from __future__ import annotations

import numpy as np
from _graph_cases import Case, Const, check, rand_int

RNG_SEED = 4321


def f32(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def test_batch_normalization():
    rng = np.random.default_rng(RNG_SEED)

    def params(c: int, const: bool) -> list:
        ps = [f32(rng, (c,)), f32(rng, (c,)), f32(rng, (c,)), rng.uniform(0.2, 3.0, c).astype(np.float32)]
        return [Const(p) for p in ps] if const else ps

    cases = [
        Case("BatchNormalization", [f32(rng, (1, 3, 5, 7)), *params(3, True)]),
        Case("BatchNormalization", [f32(rng, (2, 9, 13)), *params(9, False)], {"epsilon": 1e-3}),
        Case("BatchNormalization", [f32(rng, (3, 13)), *params(13, True)]),
        Case("BatchNormalization", [f32(rng, (1, 1, 1, 1)), *params(1, False)]),
    ]
    check(cases, sanitize=True)


def test_layer_normalization():
    rng = np.random.default_rng(RNG_SEED + 1)
    cases = [
        Case("LayerNormalization", [f32(rng, (1, 9, 16)), Const(f32(rng, (16,))), Const(f32(rng, (16,)))]),
        Case("LayerNormalization", [f32(rng, (7, 13), 3.0), f32(rng, (13,))]),  # no bias, run-time scale
        Case("LayerNormalization", [f32(rng, (2, 3, 5)), Const(f32(rng, (3, 5))), f32(rng, (1, 5))], {"axis": -2}),
        Case("LayerNormalization", [f32(rng, (2, 3, 4)), Const(f32(rng, (3, 1))), Const(f32(rng, (1,)))],
             {"axis": 1, "epsilon": 1e-2}),
        Case("LayerNormalization", [f32(rng, (13, 1)), Const(f32(rng, (1,)))]),  # single element rows
        Case("LayerNormalization", [(rng.integers(-128, 128, (3, 64)) + 0.5).astype(np.float32),
                                    Const(f32(rng, (64,)))]),
    ]
    check(cases, sanitize=True, opset=17)


def test_softmax_and_log_softmax_loss():
    rng = np.random.default_rng(RNG_SEED + 2)
    cases = [
        Case("Softmax", [f32(rng, (7,), 3.0)]),
        Case("Softmax", [f32(rng, (3, 9, 13), 4.0)]),
        Case("Softmax", [f32(rng, (3, 9, 5))], {"axis": 1}),
        Case("Softmax", [f32(rng, (2, 5, 1))], {"axis": 0}),
        Case("Softmax", [rand_int(rng, (4, 16))]),  # integer-typed input read as float
        Case("SoftmaxCrossEntropyLoss", [f32(rng, (1, 10), 2.0), Const(np.asarray([3]))]),
        Case("SoftmaxCrossEntropyLoss", [f32(rng, (3, 7), 5.0), np.asarray([0, 6, 2], dtype=np.int8)]),
        Case("SoftmaxCrossEntropyLoss", [f32(rng, (2, 5, 3)), Const(np.zeros((2, 3), dtype=np.int64)),
                                         Const(f32(rng, (5,)))], {"reduction": "none"}),
    ]
    check(cases, sanitize=True)


def test_gelu():
    rng = np.random.default_rng(RNG_SEED + 3)
    edge = np.asarray([0.0, -0.0, 6.0, -6.0, 1e-3, -10.0, 10.0, 0.5], dtype=np.float32)
    cases = [
        Case("Gelu", [np.concatenate([edge, rng.uniform(-6, 6, 93).astype(np.float32)])]),
        Case("Gelu", [np.concatenate([edge, rng.uniform(-6, 6, 5).astype(np.float32)])], {"approximate": "tanh"}),
        Case("Gelu", [f32(rng, (1, 7, 9))], {"approximate": "tanh"}),
        Case("Gelu", [f32(rng, (1,))]),
    ]
    check(cases, sanitize=True, opset=20)


def test_conv_transpose():
    rng = np.random.default_rng(RNG_SEED + 4)
    cases = [
        Case("ConvTranspose", [f32(rng, (1, 4, 9)), Const(f32(rng, (4, 3, 2)))], {"strides": [2]}),
        Case("ConvTranspose", [f32(rng, (2, 3, 7)), Const(f32(rng, (3, 5, 1))), Const(f32(rng, (5,)))]),
        Case("ConvTranspose", [f32(rng, (1, 2, 13)), Const(f32(rng, (2, 2, 3)))],
             {"strides": [3], "pads": [1, 2], "output_padding": [1], "dilations": [2]}),
        Case("ConvTranspose", [f32(rng, (1, 4, 5, 3)), Const(f32(rng, (4, 3, 3, 2))), Const(f32(rng, (6,)))],
             {"group": 2, "strides": [2, 1], "pads": [1, 0, 0, 1]}),
        Case("ConvTranspose", [f32(rng, (2, 3, 4, 4)), f32(rng, (3, 1, 2, 3))],
             {"strides": [1, 2], "dilations": [2, 1], "output_padding": [0, 1]}),
        Case("ConvTranspose", [f32(rng, (1, 3, 3, 3)), Const(f32(rng, (3, 1, 3, 3)))],
             {"group": 3, "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ]
    check(cases, sanitize=True)


def test_softmax_cross_entropy_loss_grad_and_sgd():
    rng = np.random.default_rng(RNG_SEED + 5)

    def log_prob(n: int, c: int) -> np.ndarray:
        x = rng.standard_normal((n, c))
        x = x - x.max(axis=1, keepdims=True)
        return (x - np.log(np.exp(x).sum(axis=1, keepdims=True))).astype(np.float32)

    ms = "com.microsoft"
    cases = [
        Case("SoftmaxCrossEntropyLossGrad", [log_prob(1, 10), Const(np.asarray([7]))], domain=ms),
        Case("SoftmaxCrossEntropyLossGrad", [log_prob(3, 13), np.asarray([0, 12, 5], dtype=np.int8)], domain=ms),
        Case("SoftmaxCrossEntropyLossGrad", [log_prob(4, 9), Const(np.asarray([2, -1, 8, -1]))],
             {"ignore_index": -1, "reduction": "sum"}, domain=ms),
        Case("SoftmaxCrossEntropyLossGrad", [log_prob(9, 2), rng.integers(0, 2, 9).astype(np.uint8)],
             {"ignore_index": 1}, domain=ms),
        Case("SGD", [f32(rng, (13,)), f32(rng, (13,))], {"lr": 0.01}),
        Case("SGD", [f32(rng, (3, 7), 10.0), Const(f32(rng, (3, 7)))], {"lr": 0.3}),
        Case("SGD", [rand_int(rng, (9,)), f32(rng, (9,))], {"lr": 1.5}),
    ]
    check(cases, sanitize=True)
