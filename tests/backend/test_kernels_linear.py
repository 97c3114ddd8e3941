"""C kernels of the linear and window ops (MatMul, Gemm, Conv, MaxPool, Pad, ReduceSum, ReduceMean) and of the
small elementwise ones (Clip, Relu, Div, Round) against the numpy references: integers exactly, floats within
1e-5 absolute, on the host runner (8 emulated cores: sizes 1, 7, 9, 13 exercise the work split's remainders).

Several cases of one op are combined into one graph of parallel nodes, one C build per test (or two).
"""

from __future__ import annotations

import numpy as np
import pytest
from _graph_cases import Case, Const, check, model, rand_int

from torch_deeploy.api import compile as deploy
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.ops import registry
from torch_deeploy.ops.base import KernelNode

RNG_SEED = 2024


def f32(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def wconst(rng: np.random.Generator, shape: tuple[int, ...], lo: int = -128, hi: int = 127) -> Const:
    """Integer-valued weights as a float32 initializer (as QuantLib exports them)."""
    return Const(rng.integers(lo, hi + 1, size=shape).astype(np.float32))


def kernel_args_of(cases: list[Case], opset: int = 13) -> list[dict]:
    """The kernel_args each node of the cases' graph gets (to check accumulator choices)."""
    m, feeds = model(cases, opset)
    g = import_onnx(m, example_inputs=feeds)
    out = []
    for n in g.nodes:
        ins = [g.tensors[i] if i else None for i in n.inputs]
        kn = KernelNode(n.name, n.op, n.attrs, [t.type if t else None for t in ins],
                        [g.tensors[o].type for o in n.outputs],
                        [t.data if t is not None and t.is_constant else None for t in ins])
        out.append(registry.get(n.op).kernel_args(kn))
    return out


def test_matmul():
    rng = np.random.default_rng(RNG_SEED)
    cases = [
        Case("MatMul", [rand_int(rng, (3, 5)), wconst(rng, (5, 7))]),  # constant weights
        Case("MatMul", [rand_int(rng, (13, 9)), rand_int(rng, (9, 1), "uint8")]),
        Case("MatMul", [rand_int(rng, (5,)), rand_int(rng, (2, 5, 9))]),  # 1-D first operand
        Case("MatMul", [rand_int(rng, (2, 3, 5), "uint8"), rand_int(rng, (5,))]),  # 1-D second operand
        Case("MatMul", [rand_int(rng, (7,)), rand_int(rng, (7,))]),  # vector . vector -> scalar
        Case("MatMul", [rand_int(rng, (2, 1, 3, 5)), rand_int(rng, (4, 5, 9))]),  # batch broadcast (tables)
        Case("MatMul", [rand_int(rng, (1, 3, 2, 4)), rand_int(rng, (2, 1, 4, 3))]),
        Case("MatMul", [wconst(rng, (4, 6)), rand_int(rng, (3, 6, 7), "uint8")]),  # constant first operand
        Case("MatMul", [rand_int(rng, (3, 13), "int16"), rand_int(rng, (13, 7), "int16")]),  # int64 accumulator
        # SIMD paths (K % 4 == 0): odd rows, column remainders, batches, constant weights stored transposed
        Case("MatMul", [rand_int(rng, (3, 7, 8)), wconst(rng, (8, 13))]),
        Case("MatMul", [rand_int(rng, (2, 5, 12)), rand_int(rng, (2, 12, 9))]),
        Case("MatMul", [rand_int(rng, (7, 16), "uint8"), rand_int(rng, (16, 6))]),
        # whole blocks of 4 columns (explicit stores), even and odd rows, several row splits per block
        Case("MatMul", [rand_int(rng, (3, 6, 4)), rand_int(rng, (3, 4, 8))]),
        Case("MatMul", [rand_int(rng, (2, 9, 8), "uint8"), rand_int(rng, (2, 8, 4))]),
        Case("MatMul", [f32(rng, (2, 3, 9), 10.0), f32(rng, (9, 13))]),
        Case("MatMul", [rand_int(rng, (1, 7)), f32(rng, (2, 7, 1))]),  # mixed: int times float
    ]
    assert [a["acc"] for a in kernel_args_of(cases)][8:] == ["int64_t", "int32_t", "int32_t", "int32_t", "int32_t",
                                                            "int32_t", "double", "double"]
    check(cases, sanitize=True)


def test_gemm():
    rng = np.random.default_rng(RNG_SEED + 1)
    cases = [
        Case("Gemm", [rand_int(rng, (3, 5)), wconst(rng, (5, 7)), wconst(rng, (7,), -1000, 1000)]),
        Case("Gemm", [rand_int(rng, (5, 9)), wconst(rng, (13, 5)), wconst(rng, (9, 13), -500, 500)],
             {"transA": 1, "transB": 1, "alpha": 2.0, "beta": 3.0}),
        Case("Gemm", [rand_int(rng, (9, 4)), rand_int(rng, (4, 13)), rand_int(rng, (9, 1))], {"alpha": -1.0}),
        Case("Gemm", [rand_int(rng, (4, 7), "uint8"), rand_int(rng, (4, 7)), rand_int(rng, (1,), "int16")],
             {"transA": 1}),
        Case("Gemm", [rand_int(rng, (2, 6)), wconst(rng, (6, 3)), rand_int(rng, (2, 3))], {"beta": 0.0}),
        Case("Gemm", [rand_int(rng, (1, 13)), wconst(rng, (1, 13))], {"transB": 1}),  # no C
        Case("Gemm", [rand_int(rng, (5, 8)), wconst(rng, (7, 8)), wconst(rng, (5, 7), -500, 500)],
             {"transB": 1, "alpha": 2.0, "beta": -1.0}),  # SIMD path (K-contiguous rows)
        Case("Gemm", [rand_int(rng, (4, 12), "uint8"), rand_int(rng, (8, 12))], {"transB": 1}),
        Case("Gemm", [rand_int(rng, (3, 9), "int16"), rand_int(rng, (9, 5), "int16")]),  # int64 accumulator
        Case("Gemm", [f32(rng, (9, 5)), rand_int(rng, (13, 5)), f32(rng, (9, 13))],
             {"alpha": 0.5, "beta": -1.5, "transB": 1}),
        Case("Gemm", [f32(rng, (7, 3), 5.0), Const(f32(rng, (3, 7))), Const(f32(rng, (7,)))]),
        # one row (matrix-vector path): groups of 4 columns, a remainder column pair, bias, alpha and beta
        Case("Gemm", [rand_int(rng, (1, 12)), wconst(rng, (10, 12)), wconst(rng, (10,), -500, 500)],
             {"transB": 1, "alpha": 2.0, "beta": -1.0}),
        Case("Gemm", [rand_int(rng, (1, 16), "uint8"), rand_int(rng, (8, 16))], {"transB": 1}),
    ]
    assert kernel_args_of(cases)[8]["acc"] == "int64_t"
    check(cases, sanitize=True)


def test_conv():
    rng = np.random.default_rng(RNG_SEED + 2)
    cases = [
        Case("Conv", [rand_int(rng, (1, 3, 7, 9)), wconst(rng, (5, 3, 3, 3))], {"pads": [1, 1, 1, 1]}),
        # depthwise, asymmetric pads, stride on H only, bias
        Case("Conv", [rand_int(rng, (2, 4, 9, 7)), wconst(rng, (4, 1, 3, 3)), wconst(rng, (4,), -999, 999)],
             {"group": 4, "pads": [1, 0, 2, 1], "strides": [2, 1]}),
        # grouped 1-D with stride, dilation and padding
        Case("Conv", [rand_int(rng, (1, 6, 13)), wconst(rng, (9, 2, 3)), wconst(rng, (9,))],
             {"group": 3, "pads": [3, 1], "strides": [2], "dilations": [2]}),
        Case("Conv", [rand_int(rng, (1, 8, 5, 5), "uint8"), wconst(rng, (13, 8, 1, 1))]),  # pointwise, uint8
        Case("Conv", [rand_int(rng, (1, 2, 16, 11)), wconst(rng, (3, 2, 8, 8))],  # big kernel, strides (2, 4)
             {"pads": [3, 3, 3, 3], "strides": [2, 4]}),
        Case("Conv", [rand_int(rng, (1, 4, 6, 7)), rand_int(rng, (2, 2, 2, 3)), rand_int(rng, (2,), "int16")],
             {"group": 2, "pads": [1, 1, 0, 1], "dilations": [2, 1]}),  # run-time weights and bias
        Case("Conv", [rand_int(rng, (1, 1, 1, 9)), wconst(rng, (1, 1, 1, 9))]),  # single output pixel
        Case("Conv", [rand_int(rng, (1, 2, 3, 4)), wconst(rng, (3, 2, 1, 1)), wconst(rng, (3,))],
             {"pads": [2, 1, 1, 2]}),  # border windows entirely in the padding: bias only
        Case("Conv", [rand_int(rng, (1, 3, 5, 5), "int16"), rand_int(rng, (2, 3, 3, 3), "int16")]),  # int64 acc
        # depthwise 3x3 stride 1 (SIMD path): bias, batch 2; uint8 with asymmetric pads and row strips
        Case("Conv", [rand_int(rng, (2, 5, 9, 11)), wconst(rng, (5, 1, 3, 3)), wconst(rng, (5,), -999, 999)],
             {"group": 5, "pads": [1, 1, 1, 1]}),
        Case("Conv", [rand_int(rng, (1, 3, 7, 100), "uint8"), wconst(rng, (3, 1, 3, 3))],
             {"group": 3, "pads": [0, 2, 1, 0]}),
        Case("Conv", [rand_int(rng, (1, 6, 20, 5), "uint8"), wconst(rng, (6, 1, 3, 3))],  # short rows (KWS shape)
             {"group": 6, "pads": [1, 1, 1, 1]}),
        # columns walked two at a time, rows three at a time: 10 rows (one left over), a single column
        Case("Conv", [rand_int(rng, (1, 3, 10, 6)), wconst(rng, (3, 1, 3, 3)), wconst(rng, (3,), -999, 999)],
             {"group": 3, "pads": [1, 1, 1, 1]}),
        Case("Conv", [rand_int(rng, (1, 2, 4, 1), "uint8"), wconst(rng, (2, 1, 3, 3))],
             {"group": 2, "pads": [1, 1, 1, 1]}),
        # SIMD path with the 3-tap row windows: padding shifts on both sides, a partial last quad, 2 images,
        # a remainder channel block, bias; stride 2 with asymmetric pads (uint8); 5x3 and 2x3 kernels; W < 4
        Case("Conv", [rand_int(rng, (2, 8, 5, 7)), wconst(rng, (6, 8, 3, 3)), wconst(rng, (6,), -999, 999)],
             {"pads": [1, 1, 1, 1]}),
        Case("Conv", [rand_int(rng, (1, 4, 9, 10), "uint8"), wconst(rng, (8, 4, 3, 3))],
             {"pads": [0, 2, 1, 1], "strides": [2, 2]}),
        Case("Conv", [rand_int(rng, (1, 4, 8, 9)), wconst(rng, (4, 4, 5, 3))], {"pads": [2, 2, 2, 1]}),
        Case("Conv", [rand_int(rng, (1, 2, 5, 6)), wconst(rng, (4, 2, 2, 3))], {"pads": [0, 2, 1, 1]}),
        Case("Conv", [rand_int(rng, (1, 4, 6, 3)), wconst(rng, (4, 4, 3, 3))], {"pads": [1, 1, 1, 1]}),
        Case("Conv", [rand_int(rng, (1, 4, 5, 6)), wconst(rng, (4, 4, 3, 3))],
             {"pads": [1, 3, 1, 4]}),  # windows wholly in the column padding on both sides
        # 4-tap row windows (one word per kernel row): KWS's first layer (1 channel, 10x4, stride 2), and 2
        # channels with windows reaching 3 columns into the padding on both sides
        Case("Conv", [rand_int(rng, (1, 1, 49, 10)), wconst(rng, (8, 1, 10, 4))],
             {"pads": [4, 1, 5, 2], "strides": [2, 2]}),
        Case("Conv", [rand_int(rng, (1, 2, 5, 7), "uint8"), wconst(rng, (4, 2, 2, 4))], {"pads": [1, 3, 0, 3]}),
        # reductions longer than the gather buffer (288 B per pixel): 2 chunks of input channels accumulating
        # in the int32 output (3x3 with bias and 5 output channels; pointwise with whole-word pixel quads)
        Case("Conv", [rand_int(rng, (1, 40, 6, 6)), wconst(rng, (5, 40, 3, 3)), wconst(rng, (5,), -999, 999)],
             {"pads": [1, 1, 1, 1]}),
        Case("Conv", [rand_int(rng, (1, 700, 2, 2)), wconst(rng, (8, 700, 1, 1))]),  # 3 chunks; rows 700 B apart
        # pointwise over a pixel count that is not a multiple of 4 (word loads of whole quads, bytes for the last
        # partial one): bias, 2 chunks of input channels
        Case("Conv", [rand_int(rng, (1, 16, 5, 7)), wconst(rng, (8, 16, 1, 1)), wconst(rng, (8,), -999, 999)]),
        Case("Conv", [rand_int(rng, (1, 300, 3, 3)), wconst(rng, (4, 300, 1, 1))]),
        Case("Conv", [f32(rng, (1, 4, 6, 7)), Const(f32(rng, (2, 4, 2, 3))), Const(f32(rng, (2,)))],
             {"pads": [1, 1, 0, 1], "strides": [2, 4]}),
        Case("Conv", [f32(rng, (2, 3, 11), 4.0), Const(f32(rng, (3, 1, 4)))], {"group": 3, "pads": [2, 1]}),
    ]
    assert kernel_args_of(cases)[8]["acc"] == "int64_t"
    # the cluster's kernels (by default N-EUREKA would take the convolutions it can run)
    d = check(cases, sanitize=True, options={"engines": {"*": "cluster"}})
    assert {r["op"] for r in d.report["layers"]} >= {"Conv"} and "NeurekaConv" not in str(d.report["layers"])


def test_max_pool():
    rng = np.random.default_rng(RNG_SEED + 3)
    cases = [
        Case("MaxPool", [rand_int(rng, (1, 3, 7, 9))], {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1],
                                                        "strides": [2, 2]}),
        Case("MaxPool", [rand_int(rng, (2, 3, 13))], {"kernel_shape": [3], "pads": [1, 0], "strides": [2],
                                                      "ceil_mode": 1}),
        Case("MaxPool", [rand_int(rng, (1, 2, 9, 8), "uint8")], {"kernel_shape": [2, 3], "strides": [2, 2],
                                                                 "dilations": [2, 1], "ceil_mode": 1}),
        Case("MaxPool", [rand_int(rng, (1, 1, 20, 13), "int16")], {"kernel_shape": [20, 5], "strides": [2, 4]}),
        Case("MaxPool", [-np.abs(rand_int(rng, (1, 7, 4, 4)))], {"kernel_shape": [2, 2], "pads": [1, 1, 1, 1],
                                                                  "strides": [2, 2]}),  # pads never win
        Case("MaxPool", [f32(rng, (1, 2, 9, 8))], {"kernel_shape": [2, 2], "strides": [2, 2]}),
        Case("MaxPool", [f32(rng, (1, 9, 5)) - 10], {"kernel_shape": [2], "pads": [1, 1], "strides": [1]}),
    ]
    check(cases, sanitize=True)


def test_pad():
    rng = np.random.default_rng(RNG_SEED + 4)
    i64 = np.int64
    cases = [
        # attribute form at opset 13 (QuantLib exports)
        Case("Pad", [rand_int(rng, (1, 3, 7, 9))], {"pads": [0, 0, 1, 2, 0, 0, 3, 1], "value": 5.0}),
        Case("Pad", [rand_int(rng, (2, 3, 13))], {"pads": [0, 1, -2, 0, -1, 3]}),  # negative pads crop
        Case("Pad", [rand_int(rng, (4, 9))], {"pads": [1, -3, 1, 12]}),  # the copy run starts inside the row
        Case("Pad", [rand_int(rng, (4, 9))], {"pads": [0, -9, 0, 0]}),  # empty output
        # input form: pads, constant_value, axes
        Case("Pad", [rand_int(rng, (2, 9), "uint8"), Const(np.array([-1, 2, 0, -3], i64)),
                     Const(np.array(-7.0, np.float32))]),  # output widens to int16
        Case("Pad", [rand_int(rng, (1, 2, 5, 3)), Const(np.array([1, 2, 0, 1], i64)), None,
                     Const(np.array([1, -1], i64))]),
        Case("Pad", [f32(rng, (5,)), Const(np.array([2, 1], i64)), Const(np.array(1.5, np.float32))]),
    ]
    check(cases, sanitize=True)


def test_reduce():
    rng = np.random.default_rng(RNG_SEED + 5)
    ax = {"axes": [1], "keepdims": 0}
    cases = [
        Case("ReduceSum", [rand_int(rng, (2, 3, 7, 9)), Const(np.array([1], np.int64))], {"keepdims": 0}),
        Case("ReduceSum", [rand_int(rng, (2, 3, 7, 9))], {"keepdims": 1}),  # all axes
        Case("ReduceSum", [rand_int(rng, (2, 13, 3)), Const(np.array([0, -1], np.int64))]),  # separated axes
        Case("ReduceSum", [rand_int(rng, (2, 3))], {"noop_with_empty_axes": 1}),
        Case("ReduceSum", [rand_int(rng, (3, 5), "int32"), Const(np.array([0], np.int64))]),  # int64 acc
        Case("ReduceSum", [f32(rng, (2, 3, 7, 9)), Const(np.array([-1], np.int64))]),
        Case("ReduceMean", [rand_int(rng, (2, 32, 5))], ax),  # 2*cnt a power of two: shift
        Case("ReduceMean", [rand_int(rng, (2, 3, 7, 9))], {"axes": [1, 3]}),  # cnt 27: floor division
        Case("ReduceMean", [np.array([[1, 2], [-1, -2], [3, 0], [-3, 0]], np.int8)], {"axes": [1]}),  # ties
        Case("ReduceMean", [rand_int(rng, (1, 3, 13), "int32")], ax),  # int64 math
        Case("ReduceMean", [rand_int(rng, (9, 1, 4), "uint8")], {"axes": [1, 2], "keepdims": 0}),
        Case("ReduceMean", [f32(rng, (2, 3, 7, 9))], {"axes": [0, 2], "keepdims": 0}),
    ]
    args = kernel_args_of(cases)
    assert args[4]["acc"] == "int64_t" and args[9]["mean_t"] == "int64_t"
    assert args[6]["mean_shift"] == 6 and args[7]["mean_shift"] is None
    check(cases, sanitize=True)


@pytest.mark.parametrize("sanitize", [True, False])
def test_clip_relu_div_round(sanitize):
    rng = np.random.default_rng(RNG_SEED + 6)
    fc = lambda v: Const(np.array(v, np.float32))  # noqa: E731
    ties = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999998, 1e8, -0.0, 3.5000002, 4.5, 0.49999997, -7.5],
                    np.float32)
    cases = [
        Case("Clip", [rand_int(rng, (3, 7)), fc(-5), fc(9)]),
        Case("Clip", [rand_int(rng, (13,)), rand_int(rng, (1,)), rand_int(rng, (1,))]),  # run-time bounds
        Case("Clip", [rand_int(rng, (9,), "uint8"), None, fc(100)]),
        Case("Clip", [f32(rng, (13,), 3.0), fc(0.5), fc(-0.5)]),  # min > max gives max
        Case("Clip", [rand_int(rng, (7,)), fc(-1.5)]),  # a float bound makes the output float
        Case("Relu", [rand_int(rng, (13,))]),
        Case("Relu", [rand_int(rng, (9,), "uint8")]),
        Case("Relu", [rand_int(rng, (2, 7), "int16")]),
        Case("Relu", [f32(rng, (13,))]),
        Case("Div", [f32(rng, (3, 5)), f32(rng, (5,))]),
        Case("Div", [rand_int(rng, (3, 5)), fc(3.0)]),
        Case("Div", [f32(rng, (9, 1)), f32(rng, (1, 13))]),
        Case("Round", [f32(rng, (13,), 4.0)]),
        Case("Round", [ties]),
        Case("Round", [rand_int(rng, (7,))]),
    ]
    check(cases, sanitize=sanitize)


def test_clip_attribute_form():
    rng = np.random.default_rng(RNG_SEED + 7)
    cases = [
        Case("Clip", [rand_int(rng, (13,))], {"min": -3.0}),
        Case("Clip", [rand_int(rng, (9,))], {"min": -3.0, "max": 20.0}),
        Case("Clip", [f32(rng, (7,))], {"max": 0.25}),
    ]
    check(cases, opset=6)


def test_quantise_pattern():
    """Div -> Add -> Round -> Clip as in Kernels/Mixed/Quant (float ops whose outputs hold integers)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(RNG_SEED + 8)
    x = f32(rng, (2, 9, 13), 3.0)
    inits = [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in
             (("scale", 0.037), ("zp", 3.0), ("lo", -128.0), ("hi", 127.0))]
    nodes = [helper.make_node("Div", ["x", "scale"], ["d"]), helper.make_node("Add", ["d", "zp"], ["a"]),
             helper.make_node("Round", ["a"], ["r"]), helper.make_node("Clip", ["r", "lo", "hi"], ["y"])]
    graph = helper.make_graph(nodes, "quant", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    expected = np.clip(np.round(x / np.float32(0.037) + np.float32(3.0)), -128, 127)
    got = deploy(m, [x]).run([x])[0]
    np.testing.assert_array_equal(got, expected)
