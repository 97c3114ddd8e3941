"""C kernels of the integer ops (iSoftmax, ITAMax, iRMSNorm, iLayerNorm, iGELU, iHardswish, iNoNorm,
TrueIntegerDiv, IntegerDiv, IntegerMean) against the numpy references, bit-exactly.

Each test builds one-node ONNX graphs, compiles them for the host runner (8 emulated cores, so the
work split's remainders are exercised by the odd shapes) and compares with the reference runner.
Several cases of one op are combined into one graph with parallel nodes to keep the number of C builds low.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.api import compile as deploy
from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
from torch_deeploy.runners.reference import run_reference


class Case:
    """One node of a test graph: its op, inputs (arrays = graph inputs, ('const', array) = initializers)
    and attributes."""

    def __init__(self, op: str, ins: list[Any], attrs: dict[str, Any] | None = None):
        self.op, self.ins, self.attrs = op, ins, attrs or {}


def const(a: Any) -> tuple[str, np.ndarray]:
    return ("const", np.asarray(a))


def _model(cases: list[Case]):
    vis, inits, feeds, nodes, outs = [], [], [], [], []
    for ci, case in enumerate(cases):
        names = []
        for i, a in enumerate(case.ins):
            name = f"c{ci}_in{i}"
            names.append(name)
            if isinstance(a, tuple):
                inits.append(numpy_helper.from_array(a[1].astype(np.float32), name))
                continue
            vi = helper.make_tensor_value_info(name, TensorProto.FLOAT, list(a.shape))
            vi.doc_string = DTYPE_TAG + a.dtype.name
            vis.append(vi)
            feeds.append(a)
        out = f"c{ci}_out"
        nodes.append(helper.make_node(case.op, names, [out], name=f"n{ci}", **case.attrs))
        outs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "t", vis, outs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), feeds


def check(cases: list[Case], *, sanitize: bool = False) -> None:
    """Compile the cases as one graph, run the C and compare every output with the reference exactly."""
    model, feeds = _model(cases)
    expected = run_reference(import_onnx(model, example_inputs=feeds), feeds)
    deployed = deploy(model, feeds, options={"sanitize": sanitize})
    got = deployed.run(feeds)
    assert len(got) == len(expected)
    for ci, (g, e) in enumerate(zip(got, expected, strict=True)):
        assert g.shape == e.shape, f"case {ci} ({cases[ci].op}): shape {g.shape} != {e.shape}"
        np.testing.assert_array_equal(g.astype(np.int64), np.asarray(e).astype(np.int64),
                                      err_msg=f"case {ci} ({cases[ci].op})")


def rand(rng: np.random.Generator, shape: tuple[int, ...], dtype: str = "int8") -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype)


def ints(rng: np.random.Generator, shape: Any, lo: int, hi: int) -> tuple[str, np.ndarray]:
    """A constant (initializer) of random integers in [lo, hi]."""
    return const(rng.integers(lo, hi + 1, size=shape))


SOFTMAX = {"coeffA": 1, "coeffB": 50, "coeffC": 900, "log2": 23, "n_levels": 256}


def test_isoftmax():
    rng = np.random.default_rng(1)
    check([
        Case("iSoftmax", [rand(rng, (1,))], SOFTMAX),
        Case("iSoftmax", [rand(rng, (7,))], SOFTMAX),
        Case("iSoftmax", [rand(rng, (13, 9))], SOFTMAX),
        # log2 = 4: z reaches 63, past the 32-bit width (guarded shift)
        Case("iSoftmax", [rand(rng, (2, 5, 9))], dict(SOFTMAX, log2=4)),
        Case("iSoftmax", [rand(rng, (9, 13), "uint8")], {"coeffA": 1, "coeffB": 345, "coeffC": 62395, "log2": 255}),
        # exponent term beyond int32 (64-bit path), n_levels 16
        Case("iSoftmax", [rand(rng, (3, 7))], {"coeffA": 3, "coeffB": 40000, "coeffC": 5, "log2": 6, "n_levels": 16}),
        Case("iSoftmax", [rand(rng, (4, 3), "int16")], dict(SOFTMAX, log2=200)),
        # the decode step's masked scores: int16 rows of 256 (row max by packed int16 lanes), z far past 31
        Case("iSoftmax", [rand(rng, (5, 256), "int16")], dict(SOFTMAX, log2=374)),
        Case("iSoftmax", [np.zeros((2, 0), np.int8)], SOFTMAX),  # empty: nothing to do
        # MicroLlama's attention rows (8 wide, log2 = 50 by multiply and shift, 32-bit sum by reciprocal); rows of
        # 100 (exponent terms cached on the stack) and 300 (too long for that cache: computed twice); an int32
        # input whose span is too wide for the multiply-and-shift division
        Case("iSoftmax", [rand(rng, (16, 8))], {"coeffA": 1, "coeffB": 68, "coeffC": 2418, "log2": 50}),
        Case("iSoftmax", [rand(rng, (3, 100))], SOFTMAX),
        Case("iSoftmax", [rand(rng, (2, 300))], SOFTMAX),
        Case("iSoftmax", [rng.integers(-2**20, 2**20, size=(3, 6)).astype(np.int32)], dict(SOFTMAX, log2=70000)),
    ], sanitize=True)


def test_isoftmax_constant_rows():
    """Rows with ties and all-equal values (every z = 0, the sum is L times the maximum term)."""
    rng = np.random.default_rng(2)
    x = rng.integers(-3, 3, size=(9, 13)).astype(np.int8)
    x[0] = 5
    check([Case("iSoftmax", [x], SOFTMAX), Case("iSoftmax", [x], dict(SOFTMAX, log2=1))])


def test_itamax():
    rng = np.random.default_rng(3)
    check([
        Case("ITAMax", [rand(rng, (1,))]),
        Case("ITAMax", [rand(rng, (13, 7))]),
        Case("ITAMax", [rand(rng, (2, 9, 9), "uint8")]),
        Case("ITAMax", [rand(rng, (3, 5))], {"n_levels": 16}),
        Case("ITAMax", [rand(rng, (9,), "int32")], {"n_levels": 2}),  # 64-bit differences, shifts guarded
        Case("ITAMax", [rng.integers(-2, 2, size=(7, 4)).astype(np.int8)]),
    ], sanitize=True)


def test_irmsnorm():
    rng = np.random.default_rng(4)
    check([
        Case("iRMSNorm", [rand(rng, (13, 16)), ints(rng, (16,), -30000, 30000)], {"D": 65536}),
        Case("iRMSNorm", [rand(rng, (1, 7)), ints(rng, (1, 7), -300000, 300000)], {"D": 1024}),
        Case("iRMSNorm", [rand(rng, (2, 9, 5)), ints(rng, (9, 5), -300000, 300000)], {"D": 4096}),  # per element
        Case("iRMSNorm", [rand(rng, (9, 4)), ints(rng, (9, 1), -3000, 3000)], {"D": 64}),  # per row
        # int16 input: 64-bit sum of squares and square root, 64-bit division
        Case("iRMSNorm", [rand(rng, (3, 8), "int16"), ints(rng, (8,), -3000, 3000)], {"D": 1024}),
        Case("iRMSNorm", [rand(rng, (2, 3, 4)), ints(rng, (2, 1, 4), -3000, 3000)], {"D": 64}),  # full strides
        Case("iRMSNorm", [rand(rng, (3, 5), "int16"), ints(rng, (5,), -3, 3)], {"D": 2}),  # 64-bit sum
        Case("iRMSNorm", [rand(rng, (7, 3), "uint8"), rand(rng, (3,))], {"D": 16, "n_levels": 16}),  # runtime w
        Case("iRMSNorm", [rand(rng, (1,)), ints(rng, (1,), -50000, 50000)], {"D": 256}),
    ], sanitize=True)


def test_irmsnorm_negative_exact_multiples():
    """floor (not truncation) of x*w/std: negative products with exact and inexact quotients."""
    x = np.array([[-3, 4, -5, 7, -9, 11, -13, 2]], dtype=np.int8)
    w = np.array([7, -7, 3, -1, 5, 9, -11, 13])
    check([Case("iRMSNorm", [x, const(w)], {"D": 2}), Case("iRMSNorm", [x, const(-w * 1000)], {"D": 4})])


def test_irmsnorm_saturation_boundaries():
    """The multiply-and-shift division (clamp to [(lo-1)*std, (hi+1)*std], then a per-row reciprocal): rows whose
    norm is 1 (a single +-1) or the largest (+-128), weights that put x*w >> log2d on and around the saturation
    thresholds of every row and far beyond them."""
    rng = np.random.default_rng(11)
    x = rng.integers(-128, 128, (24, 16)).astype(np.int8)
    x[0] = 0
    x[0, 3] = 1
    x[1] = 0
    x[1, 5] = -1
    x[2] = -128
    x[3] = 127
    x[4, ::2] = -128
    w = rng.integers(-2**23, 2**23, (16,))
    w[:4] = [127 * 64, 128 * 64, -129 * 64, -128 * 64]  # with D = 64: x*w >> 6 = +-127, 128, -129, -128 for x = 1
    check([Case("iRMSNorm", [x, const(w)], {"D": 64}),
           Case("iRMSNorm", [x, const(rng.integers(-300, 300, (16,)))], {"D": 1})], sanitize=True)


def test_elementwise_block_broadcast_groups():
    """Add/Sub/Mul with an operand broadcast in blocks whose period is a multiple of 4 (a mask over the context, a
    per-row scale): read once per group of four outputs; odd totals leave a remainder handled one at a time."""
    rng = np.random.default_rng(13)
    check([
        Case("Add", [rand(rng, (3, 4, 256)), rand(rng, (256,), "int16")]),
        Case("Sub", [rand(rng, (2, 8, 12)), rand(rng, (8, 1))]),
        Case("Mul", [rand(rng, (2, 6, 4), "int16"), rand(rng, (1, 6, 1))]),
        Case("Add", [rand(rng, (5, 7, 4)), rand(rng, (7, 4))]),
        Case("Mul", [rand(rng, (3, 5, 8)), rand(rng, (5, 1), "int16")]),
        Case("Add", [rand(rng, (1, 1, 3, 4)), rand(rng, (1, 1, 1, 4))]),
    ], sanitize=True)


def test_ilayernorm():
    rng = np.random.default_rng(5)
    check([
        Case("iLayerNorm", [rand(rng, (13, 16)), ints(rng, (16,), -30000, 30000), ints(rng, (16,), -2**20, 2**20)],
             {"D": 16384}),
        Case("iLayerNorm", [rand(rng, (9, 7), "uint8"), ints(rng, (7,), -30000, 30000), ints(rng, (1,), -9, 9)],
             {"D": 16384}),
        Case("iLayerNorm", [rand(rng, (2, 3, 5)), ints(rng, (3, 5), -3000, 3000), ints(rng, (2, 1, 5), -99, 99)],
             {"D": 256}),
        Case("iLayerNorm", [rand(rng, (3, 1)), ints(rng, (1,), -3000, 3000), ints(rng, (1,), -5000, 5000)],
             {"D": 1024}),
        Case("iLayerNorm", [rand(rng, (5, 4), "int16"), ints(rng, (4,), -3, 3), ints(rng, (4,), -3, 3)],
             {"D": 4, "n_levels": 64}),
        Case("iLayerNorm", [rand(rng, (7, 6)), rand(rng, (6,), "int16"), rand(rng, (6,), "int16")], {"D": 128}),
    ], sanitize=True)


def test_igelu():
    rng = np.random.default_rng(6)
    check([
        Case("iGELU", [np.arange(-128, 128, dtype=np.int8)], {"b": -40, "one": 1743}),
        Case("iGELU", [rand(rng, (3, 9), "int16")], {"b": -40, "one": 1743}),
        Case("iGELU", [rand(rng, (13,), "int32")], {"b": -100, "one": 10}),  # one + L < 0: floor, 64-bit
        Case("iGELU", [rand(rng, (7,), "uint8")], {"b": 0, "one": 5}),
    ], sanitize=True)


def test_ihardswish():
    rng = np.random.default_rng(7)
    check([
        Case("iHardswish", [np.arange(-128, 128, dtype=np.int8)], {"three": 122, "six": 244, "one_over_six": 42}),
        Case("iHardswish", [rand(rng, (13, 9), "int16")], {"three": 765, "six": 1530, "one_over_six": 33}),
        Case("iHardswish", [rand(rng, (1,), "uint8")], {"three": -5, "six": 100, "one_over_six": 33}),
        Case("iHardswish", [rand(rng, (7,), "int32")], {"three": 3, "six": 6, "one_over_six": 1}),  # 64-bit
    ], sanitize=True)


def test_true_integer_div():
    rng = np.random.default_rng(8)
    attrs = {"y": 2, "Delta": 16384, "eta": 200000, "eps": 1}
    check([
        Case("TrueIntegerDiv", [rand(rng, (13, 7), "int32")], attrs),  # x*K beyond int32: 64-bit
        Case("TrueIntegerDiv", [rand(rng, (9,))], attrs),
        Case("TrueIntegerDiv", [rand(rng, (1,), "int16")], dict(attrs, y=-3)),
        Case("TrueIntegerDiv", [rand(rng, (2, 3), "uint8")], dict(attrs, y=7, eps=-1)),
    ], sanitize=True)


def test_inonorm():
    rng = np.random.default_rng(9)
    attrs = {"D": 65536, "mul": 425}
    check([
        Case("iNoNorm", [rand(rng, (1, 7, 13)), ints(rng, (7, 13), -3000, 3000), ints(rng, (13,), -300000, 300000)],
             attrs),
        Case("iNoNorm", [rand(rng, (9, 1)), ints(rng, (9, 5), -3000, 3000), ints(rng, (1,), -300000, 300000)],
             {"D": 1024, "mul": -425}),  # x broadcast too
        Case("iNoNorm", [rand(rng, (2, 3, 1)), ints(rng, (3, 1), -3000, 3000), ints(rng, (2, 1, 4), -99999, 99999)],
             {"D": 1024, "mul": 7}),
        Case("iNoNorm", [rand(rng, (3, 5), "int32"), ints(rng, (5,), -3, 3), ints(rng, (), -5, 5)],
             {"D": 2, "mul": 3}),  # 64-bit
        Case("iNoNorm", [rand(rng, (4, 3), "uint8"), rand(rng, (4, 3)), rand(rng, (3,), "int16")],
             {"D": 256, "mul": 1, "n_levels": 16}),
    ], sanitize=True)


def test_integer_div():
    rng = np.random.default_rng(10)
    check([
        Case("IntegerDiv", [rand(rng, (3, 7)), rand(rng, (3, 7), "uint8")], {"Delta": 16384, "eta": 200, "eps": 1}),
        Case("IntegerDiv", [rand(rng, (9, 7), "int16"), rand(rng, (7,))], {"Delta": 16, "eta": 2, "eps": 1}),
        Case("IntegerDiv", [rand(rng, (13,)), ints(rng, (13,), 1, 9)], {"Delta": 16384, "eta": 200000, "eps": -1}),
        # negative denominators only, exact halves: y*eta + eps in {-1, -3, ...}
        Case("IntegerDiv", [rand(rng, (2, 1, 5)), ints(rng, (4, 1), -9, -1)], {"Delta": 1, "eta": 2, "eps": 1}),
        Case("IntegerDiv", [rand(rng, (1,)), rand(rng, (1,), "uint8")], {"Delta": 3, "eta": 1, "eps": 1}),
    ], sanitize=True)


def test_integer_mean():
    rng = np.random.default_rng(11)
    check([
        Case("IntegerMean", [rand(rng, (2, 13, 3))], {"axes": [1], "keepdims": 0}),
        Case("IntegerMean", [rand(rng, (3, 4, 5, 6))], {"axes": [1, 3], "keepdims": 1}),
        Case("IntegerMean", [rand(rng, (3, 4, 5), "int16")], {"axes": [0, 1, 2], "keepdims": 0}),
        Case("IntegerMean", [rand(rng, (9, 1, 7))], {"axes": [1, 2], "keepdims": 0}),
        Case("IntegerMean", [rand(rng, (9, 1, 7))], {"axes": [1], "keepdims": 0}),  # size-1 axis: a copy
        Case("IntegerMean", [rand(rng, (5, 7), "uint8")], {"axes": [-1], "keepdims": 1}),
        Case("IntegerMean", [rand(rng, (2, 3, 4), "int32")], {"keepdims": 0}),  # all axes, 64-bit sum
        Case("IntegerMean", [rand(rng, (1, 32, 8))], {"axes": [1], "keepdims": 0}),
    ], sanitize=True)


@pytest.mark.parametrize("num_cores", [1, 3])
def test_other_core_counts(num_cores):
    """The work split with other team sizes (1: one share; 3: uneven shares) on the row-wise kernels."""
    rng = np.random.default_rng(12)
    model, feeds = _model([
        Case("iSoftmax", [rand(rng, (7, 9))], SOFTMAX),
        Case("iRMSNorm", [rand(rng, (5, 8)), ints(rng, (8,), -30000, 30000)], {"D": 65536}),
        Case("ITAMax", [rand(rng, (4, 9))]),
        Case("IntegerMean", [rand(rng, (2, 5, 7))], {"axes": [1], "keepdims": 0}),
    ])
    expected = run_reference(import_onnx(model, example_inputs=feeds), feeds)
    got = deploy(model, feeds, options={"num_cores": num_cores}).run(feeds)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g.astype(np.int64), np.asarray(e).astype(np.int64))


def test_requant_shift_paths():
    """RequantShift's kernel paths: runs of one (mul, add) per channel or for the whole tensor, with the 8-bit
    word-store output stage (odd run lengths, so runs start and end mid-word and cross the cores' shares), an
    int16 output, the 64-bit path (a large multiplier); small tensors and per-element parameters (indexed per
    element)."""
    rng = np.random.default_rng(21)
    rq = {"div": 1 << 12, "n_levels_out": 256, "signed": 1}
    check([
        Case("RequantShift", [rand(rng, (1, 5, 7, 31), "int32") // 4096, ints(rng, (5,), -900, 900),
                              ints(rng, (5,), -(1 << 20), 1 << 20)], rq),
        Case("RequantShift", [rand(rng, (2, 3, 111), "int16"), ints(rng, (1, 3, 1), 1, 300),
                              ints(rng, (1,), -5000, 5000)], {**rq, "signed": 0}),
        Case("RequantShift", [rand(rng, (41, 13), "int32") // 512, ints(rng, (1,), 1, 60),
                              ints(rng, (13,), -9000, 9000)], {**rq, "n_levels_out": 65536}),
        Case("RequantShift", [rand(rng, (4, 190), "int32"), const([1 << 24]), const([77])], rq),
        Case("RequantShift", [rand(rng, (1, 3, 2, 2), "int32") // 4096, ints(rng, (3,), 1, 99), ints(rng, (3,), 0, 99)],
             rq),
        Case("RequantShift", [rand(rng, (2, 6), "int8"), ints(rng, (2, 6), -50, 50), ints(rng, (2, 6), -99, 99)],
             {**rq, "div": 1 << 4}),
    ], sanitize=True)
