"""Lowering passes, before and after: the rewritten graph has the expected ops, and running it (reference and
host C) gives exactly what the original graph gives."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.api import compile as deploy
from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
from torch_deeploy.passes.fold_bias import fold_bias_into_gemm
from torch_deeploy.passes.pipeline import run_passes
from torch_deeploy.runners.reference import run_reference

RNG = np.random.default_rng(7)


def linear_model(bias_shape: tuple[int, ...], *, extra_reader: bool = False, requant: bool = True,
                 mul: np.ndarray | None = None):
    """x[1, 6, 16] int8 -> MatMul(W[16, 12]) -> Add(bias) -> RequantShift (QuantLib's integer linear)."""
    w = RNG.integers(-128, 128, size=(16, 12)).astype(np.int8)
    bias = RNG.integers(-5000, 5000, size=bias_shape).astype(np.int32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 16])
    x.doc_string = DTYPE_TAG + "int8"
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "bias"),
             numpy_helper.from_array(np.array([37], np.int32) if mul is None else mul, "mul"),
             numpy_helper.from_array(np.array([-9], np.int32), "add")]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["mm"], name="mm"),
             helper.make_node("Add", ["mm", "bias"], ["biased"], name="bias_add")]
    outs = ["biased"]
    if requant:
        nodes.append(helper.make_node("RequantShift", ["biased", "mul", "add"], ["y"], name="rq", div=1 << 10,
                                      n_levels_out=256, signed=1))
        outs = ["y"]
    if extra_reader:  # the MatMul result is also a graph output: the Add must stay
        outs.append("mm")
    vis = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs]
    g = helper.make_graph(nodes, "linear", [x], vis, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    return m, [RNG.integers(-128, 128, size=(1, 6, 16)).astype(np.int8)]


def ops_of(g) -> Counter:
    return Counter(n.op for n in g.nodes)


@pytest.mark.parametrize("bias_shape", [(12,), (1, 1, 12), (1,)])
def test_bias_add_folds_into_gemm(bias_shape):
    m, ins = linear_model(bias_shape)
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = run_passes(g.copy())
    assert ops_of(after_g) == Counter({"RequantizedGemm": 1, "Reshape": 2})
    gemm = next(n for n in after_g.nodes if n.op == "RequantizedGemm")
    assert len(gemm.inputs) == 3 and after_g.tensors[gemm.inputs[2]].type.shape == (12,)
    assert "bias" not in after_g.tensors  # the original bias constant is gone
    after = run_reference(after_g, ins)
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    d = deploy(m, ins, runner="host", options={"engines": {"*": "cluster"}, "sanitize": True})
    assert Counter(r["op"] for r in d.report["layers"] if r.get("kernel") is not None)["Add"] == 0
    assert np.array_equal(d.run(ins)[0], before[0])


@pytest.mark.parametrize("case", ["row_bias", "extra_reader", "no_requant_output"])
def test_bias_add_not_folded(case):
    """A bias that varies along rows, or an intermediate with another reader, keeps the Add."""
    if case == "row_bias":
        m, ins = linear_model((6, 1))
    elif case == "extra_reader":
        m, ins = linear_model((12,), extra_reader=True)
    else:  # the Add is the graph output: folding is fine and the output keeps its name
        m, ins = linear_model((12,), requant=False)
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = run_passes(g.copy())
    ops = ops_of(after_g)
    folded = ops["Add"] + ops["RequantizedAdd"] == 0  # the bias went into the Gemm
    assert folded == (case == "no_requant_output")
    if case == "row_bias":  # the Add keeps the bias, and takes the RequantShift after it
        assert ops["RequantizedAdd"] == 1 and ops["RequantShift"] == 0
    assert after_g.outputs == g.outputs
    after = run_reference(after_g, ins)
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    d = deploy(m, ins, runner="host", options={"engines": {"*": "cluster"}})
    assert all(np.array_equal(a, b) for a, b in zip(d.run(ins), before, strict=True))


def test_bias_add_folds_into_2d_gemm_without_reshape():
    """An ONNX Gemm (no C) followed by Add(bias): the Gemm takes the bias and writes the Add's output."""
    w = RNG.integers(-128, 128, size=(12, 16)).astype(np.int8)
    bias = RNG.integers(-300, 300, size=(1, 12)).astype(np.int32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 16])
    x.doc_string = DTYPE_TAG + "uint8"
    nodes = [helper.make_node("Gemm", ["x", "w"], ["g"], name="gemm", transB=1, alpha=2),
             helper.make_node("Add", ["bias", "g"], ["y"], name="bias_add")]
    graph = helper.make_graph(nodes, "gemm", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "bias")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    ins = [RNG.integers(0, 256, size=(5, 16)).astype(np.uint8)]
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = fold_bias_into_gemm(g.copy())
    assert ops_of(after_g) == Counter({"Gemm": 1})
    assert after_g.nodes[0].outputs == ["y"] and after_g.nodes[0].attrs["beta"] == 1.0
    assert np.array_equal(run_reference(after_g, ins)[0], before[0])
    d = deploy(m, ins, runner="host", options={"engines": {"*": "cluster"}, "sanitize": True})
    assert np.array_equal(d.run(ins)[0], before[0])


@pytest.mark.parametrize(("mul", "fused"), [
    (np.array([37], np.int32), "RequantizedGemm"),
    (np.array([[[1 << 20]]], np.int32), "RequantizedGemm"),
    (np.arange(1, 13, dtype=np.int32), "ChannelRequantizedGemm"),     # per column: the bias joins the offsets
    (np.arange(1, 13, dtype=np.int32) << 14, "ChannelRequantizedGemm"),  # v * mul beyond 32 bits: per-column clamp
    (np.arange(1, 13, dtype=np.int32) << 20, None),                    # offsets (bias * mul) beyond 32 bits
    (np.arange(1, 7, dtype=np.int32).reshape(1, 6, 1), None),          # per row: left alone
])
def test_requant_folds_into_gemm(mul, fused):
    """Scalar mul/add: RequantizedGemm (with the 1 << 20 multiplier v * mul needs more than 32 bits, but only where
    the output saturates: the C clamps v first and stays in 32 bits); per-column mul/add: ChannelRequantizedGemm when
    its 32-bit output stage suffices; otherwise the RequantShift stays a layer of its own. Bit-exact either way, also
    in column tiles under a small L1."""
    m, ins = linear_model((12,), mul=mul)
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = run_passes(g.copy())
    if fused:
        assert ops_of(after_g)[fused] == 1 and ops_of(after_g)["RequantShift"] == 0
    else:
        assert ops_of(after_g)["RequantShift"] == 1
    assert np.array_equal(run_reference(after_g, ins)[0], before[0])
    for opts in ({}, {"l1": 600}):
        d = deploy(m, ins, runner="host", options={"engines": {"*": "cluster"}, "sanitize": True, **opts})
        assert np.array_equal(d.run(ins)[0], before[0])
    macs = [r["macs"] for r in d.report["layers"] if r.get("macs")]
    assert macs == [6 * 16 * 12]
    if mul.size == 1 and mul.item() == 1 << 20:
        assert "every output saturates: clamped first" in "".join(d.c_sources.values())
    if fused == "ChannelRequantizedGemm":
        assert ("clamped first" in "".join(d.c_sources.values())) == (int(mul.max()) > 1 << 10)


@pytest.mark.parametrize(("a_dtype", "shapes"), [("int8", ((2, 6, 8), (2, 8, 4))), ("uint8", ((3, 5, 12), (3, 12, 7))),
                                                 ("int16", ((4, 6), (6, 5))),
                                                 ("int8", ((16, 9, 4), (16, 4, 1))),      # scores of one query
                                                 ("uint8", ((3, 7, 12), (3, 12, 1))),
                                                 ("uint8", ((16, 1, 256), (16, 256, 4))),  # weights x values
                                                 ("int8", ((4, 8, 4), (4, 4, 1))),   # 4-row groups, word stores
                                                 ("uint8", ((2, 12, 8), (2, 8, 1))),
                                                 ("int8", ((2, 1, 8), (8, 12)))])
def test_requant_folds_into_two_input_matmul(a_dtype, shapes):
    """Attention-style MatMul of two activations -> RequantShift: one RequantizedMatMul, bit-exact on the SIMD
    path (int8/uint8 x int8, K % 4 == 0, whole and partial column blocks) and on the plain C path (int16)."""
    sa, sb = shapes
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, list(sa))
    a.doc_string = DTYPE_TAG + a_dtype
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, list(sb))
    b.doc_string = DTYPE_TAG + ("int16" if a_dtype == "int16" else "int8")
    nodes = [helper.make_node("MatMul", ["a", "b"], ["p"], name="qk"),
             helper.make_node("RequantShift", ["p", "mul", "add"], ["y"], name="rq", div=1 << 8, n_levels_out=256,
                              signed=0)]
    graph = helper.make_graph(nodes, "attn", [a, b], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.array(3, np.int32), "mul"),
                               numpy_helper.from_array(np.array(5000, np.int32), "add")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    info = np.iinfo(a_dtype)
    ins = [RNG.integers(info.min, info.max + 1, size=sa).astype(a_dtype),
           RNG.integers(-128, 128, size=sb).astype(np.int16 if a_dtype == "int16" else np.int8)]
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = run_passes(g.copy())
    assert ops_of(after_g) == Counter({"RequantizedMatMul": 1})
    assert after_g.nodes[0].outputs == ["y"]
    assert np.array_equal(run_reference(after_g, ins)[0], before[0])
    d = deploy(m, ins, runner="host", options={"sanitize": True})
    assert np.array_equal(d.run(ins)[0], before[0])
    assert [r["macs"] for r in d.report["layers"] if r.get("macs")] == [int(np.prod(before[0].shape)) * sa[-1]]


def test_gemm_constant_weights_stored_transposed():
    """Gemm(x, W[K, N], b) with transB = 0 reads W^T[N, K] with transB = 1 (K-contiguous rows for the SIMD
    kernel): same results in the reference and in C; a W another node also reads keeps its original."""
    w = RNG.integers(-128, 128, size=(16, 12)).astype(np.int8)
    bias = RNG.integers(-300, 300, size=(12,)).astype(np.int32)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 16])
    x.doc_string = DTYPE_TAG + "int8"
    nodes = [helper.make_node("Gemm", ["x", "w", "bias"], ["y"], name="gemm"),
             helper.make_node("Gemm", ["x", "w"], ["y2"], name="gemm2", transB=0, alpha=3.0)]
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in ("y", "y2")]
    graph = helper.make_graph(nodes, "gemm", [x], outs, [numpy_helper.from_array(w, "w"),
                                                         numpy_helper.from_array(bias, "bias")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    ins = [RNG.integers(-128, 128, size=(5, 16)).astype(np.int8)]
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = run_passes(g.copy())
    gemms = [n for n in after_g.nodes if n.op == "Gemm"]
    assert len(gemms) == 2 and all(n.attrs["transB"] == 1 for n in gemms)
    assert gemms[0].inputs[1] == gemms[1].inputs[1] != "w" and "w" not in after_g.tensors
    assert after_g.tensors[gemms[0].inputs[1]].type.shape == (12, 16)
    for got, want in zip(run_reference(after_g, ins), before, strict=True):
        assert np.array_equal(got, want)
    d = deploy(m, ins, runner="host", options={"engines": {"*": "cluster"}, "sanitize": True})
    for got, want in zip(d.run(ins), before, strict=True):
        assert np.array_equal(got, want)


def conv_rq_model(x_shape, w_shape, *, attrs=None, x_dtype="int8", bias=True, mul=None, add=None, signed=1,
                  div=1 << 12, mul_input=False):
    """x -> Conv(w, [bias]) -> RequantShift(mul, add) (QuantLib's integer conv); mul/add default per channel."""
    m = w_shape[0]
    lo, hi = {"int8": (-128, 128), "uint8": (0, 256), "int16": (-3000, 3000)}[x_dtype]
    w = RNG.integers(-128, 128, size=w_shape).astype(np.int8)
    mul = RNG.integers(1, 400, size=(1, m) + (1,) * (len(x_shape) - 2)).astype(np.int32) if mul is None else mul
    add = RNG.integers(-50000, 50000, size=(m,) + (1,) * (len(x_shape) - 2)).astype(np.int32) if add is None else add
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))
    x.doc_string = DTYPE_TAG + x_dtype
    vis = [x]
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(add, "add")]
    feeds = [RNG.integers(lo, hi, size=x_shape).astype(x_dtype)]
    if mul_input:  # run-time multiplier
        mi = helper.make_tensor_value_info("mul", TensorProto.FLOAT, list(mul.shape))
        mi.doc_string = DTYPE_TAG + "int32"
        vis.append(mi)
        feeds.append(mul)
    else:
        inits.append(numpy_helper.from_array(mul, "mul"))
    conv_in = ["x", "w"]
    if bias:
        inits.append(numpy_helper.from_array(RNG.integers(-3000, 3000, size=(m,)).astype(np.int32), "bias"))
        conv_in.append("bias")
    nodes = [helper.make_node("Conv", conv_in, ["acc"], name="conv", **(attrs or {})),
             helper.make_node("RequantShift", ["acc", "mul", "add"], ["y"], name="rq", div=div, n_levels_out=256,
                              signed=signed)]
    g = helper.make_graph(nodes, "conv_rq", vis, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), feeds


P1 = {"pads": [1, 1, 1, 1]}
CONV_RQ_CASES = {
    # the cluster kernel's paths: depthwise 3x3 (uint8 out), 3x3 row windows with a remainder channel block,
    # pointwise pixel quads, fewer than 4 output channels, the plain loop (int16 x), 1-D, no bias
    "depthwise": ((1, 6, 7, 9), (6, 1, 3, 3), {"group": 6, **P1}, {"signed": 0}),
    "3x3": ((2, 4, 5, 7), (6, 4, 3, 3), P1, {}),
    "pointwise": ((1, 8, 4, 4), (8, 8, 1, 1), {}, {"bias": False}),
    "3_channels": ((1, 4, 6, 5), (3, 4, 3, 3), {"pads": [0, 1, 2, 1], "strides": [2, 1]}, {}),
    "int16_x": ((1, 3, 5, 5), (4, 3, 3, 3), P1, {"x_dtype": "int16"}),
    "1d": ((1, 4, 12), (8, 4, 3), {"pads": [1, 1]}, {}),
    # a multiplier so large that v * mul + add needs 64 bits: the kernel's int64 output stage
    "wide": ((1, 4, 4, 4), (4, 4, 3, 3), P1, {"mul": np.full((4, 1, 1), 1 << 22, np.int32), "div": 1 << 30,
                                              "bias": False}),
    # left alone: reduction longer than the gather buffer, mul varying along pixels, run-time mul
    "long_reduction": ((1, 40, 4, 4), (4, 40, 3, 3), P1, {}),
    "per_pixel_mul": ((1, 4, 3, 3), (4, 4, 1, 1), {}, {"mul": np.arange(1, 37, dtype=np.int32).reshape(1, 4, 3, 3)}),
    "runtime_mul": ((1, 4, 3, 3), (4, 4, 1, 1), {}, {"mul_input": True}),
}


@pytest.mark.parametrize("case", list(CONV_RQ_CASES))
def test_requant_folds_into_conv(case):
    """Conv -> RequantShift with constant per-channel (or scalar) parameters: one RequantizedConv whose add holds
    bias * mul + add; bit-exact against the original graph on the reference and on the host C (every kernel path,
    sanitizers on). The cases the pass must leave alone keep their RequantShift, still bit-exact."""
    x_shape, w_shape, attrs, kw = CONV_RQ_CASES[case]
    m, ins = conv_rq_model(x_shape, w_shape, attrs=attrs, **kw)
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = run_passes(g.copy())
    fused = case not in ("long_reduction", "per_pixel_mul", "runtime_mul")
    assert ops_of(after_g) == (Counter({"RequantizedConv": 1}) if fused else Counter({"Conv": 1, "RequantShift": 1}))
    if fused:
        assert "bias" not in after_g.tensors and "mul" not in after_g.tensors
    assert np.array_equal(run_reference(after_g, ins)[0], before[0])
    d = deploy(m, ins, runner="host", options={"engines": {"*": "cluster"}, "sanitize": True})
    assert np.array_equal(d.run(ins)[0], before[0])
    assert [r["macs"] for r in d.report["layers"] if r.get("macs")] == [int(np.prod(before[0].shape)) * int(
        np.prod(w_shape[1:]))]
    if case == "wide":
        assert "int64_t addh" in "".join(d.c_sources.values())


def movement_rq_model(x_dtype: str, add: int, rq_is_output: bool, shared: bool = True):
    """x -> Transpose -> RequantShift(mul = div = 2^16, add) -> Add(x^T) (MicroLlama's re-quantization after
    data movement); shared=False: the Add reads only the RequantShift's output (Add(q, q))."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])
    x.doc_string = DTYPE_TAG + x_dtype
    inits = [numpy_helper.from_array(np.array(65536, np.int32), "mul"), numpy_helper.from_array(np.array(add, np.int32),
                                                                                                  "add")]
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], name="t", perm=[0, 2, 1]),
             helper.make_node("RequantShift", ["xt", "mul", "add"], ["q"], name="rq", div=65536, n_levels_out=256,
                              signed=1),
             helper.make_node("Add", ["q", "xt" if shared else "q"], ["y"], name="add")]
    outs = ["y", "q"] if rq_is_output else ["y"]
    g = helper.make_graph(nodes, "mv", [x], [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
                          inits)
    info = np.iinfo(x_dtype)
    feeds = [RNG.integers(max(info.min, -3000), min(info.max, 3000) + 1, size=(2, 3, 4)).astype(x_dtype)]
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), feeds


@pytest.mark.parametrize(("x_dtype", "add", "rq_is_output", "shared", "dropped"), [
    ("int8", 0, False, True, True), ("int8", -32768, False, True, True), ("int8", 32767, False, True, True),
    ("int8", 32768, False, True, False),  # rounds every value up by one
    ("int16", 0, False, True, False),     # the clip to int8 changes values
    ("int8", 0, True, True, False),       # a graph output whose input has another reader: kept
    ("int8", 0, True, False, True),       # a graph output: the Transpose writes it directly (the KV cache case)
])
def test_identity_requant_is_dropped(x_dtype, add, rq_is_output, shared, dropped):
    """A RequantShift with mul == div, -div/2 <= add < div/2 on an input inside the output range changes no value:
    its readers read the input (or, for a graph output, the input's producer writes it). Bit-exact either way
    (reference and host C), graph outputs unchanged."""
    m, ins = movement_rq_model(x_dtype, add, rq_is_output, shared)
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = run_passes(g.copy())
    assert ops_of(after_g)["RequantShift"] == int(not dropped)
    assert after_g.outputs == g.outputs
    if dropped:
        assert "mul" not in after_g.tensors and "add" not in after_g.tensors
    for got, want in zip(run_reference(after_g, ins), before, strict=True):
        assert np.array_equal(got, want)
    d = deploy(m, ins, runner="host", options={"sanitize": True})
    for got, want in zip(d.run(ins), before, strict=True):
        assert np.array_equal(got, want)


def cache_concat_model(cached: int, present_is_output: bool, shared: bool):
    """x -> Transpose -> Concat(cache [2, cached, 4], axis=-2) -> present, read by an Add (MicroLlama's key cache);
    shared=True: the Transpose's output has a second reader."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 3])
    c = helper.make_tensor_value_info("cache", TensorProto.FLOAT, [2, cached, 4])
    for vi in (x, c):
        vi.doc_string = DTYPE_TAG + "int8"
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], name="t", perm=[0, 2, 1]),
             helper.make_node("Concat", ["cache", "xt"], ["present"], name="cat", axis=-2),
             helper.make_node("Add", ["present", "present"], ["pr"], name="r"),
             helper.make_node("Add", ["xt", "xt"], ["z"], name="z")]
    outs = ["pr", "z"] if shared else ["pr"]
    if present_is_output:
        outs.append("present")
    g = helper.make_graph(nodes if shared else nodes[:3], "kv", [x, c],
                          [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs])
    feeds = [RNG.integers(-128, 128, size=(2, 4, 3)).astype(np.int8),
             RNG.integers(-128, 128, size=(2, cached, 4)).astype(np.int8)]
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), feeds


@pytest.mark.parametrize(("cached", "present_is_output", "shared", "dropped"), [
    (0, True, False, True),    # the first step's key cache: the Transpose writes `present` directly
    (0, False, False, True),   # the Add reads the Transpose's output
    (0, False, True, True),
    (0, True, True, False),    # a graph output whose input has another reader: kept (a copy)
    (2, True, False, False),   # a non-empty cache: a real Concat
])
def test_concat_with_one_nonempty_input_is_dropped(cached, present_is_output, shared, dropped):
    """A Concat whose inputs are all empty but one passes that one through: dropped like an identity RequantShift;
    bit-exact (reference and host C with sanitizers), graph inputs and outputs unchanged."""
    m, ins = cache_concat_model(cached, present_is_output, shared)
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = run_passes(g.copy())
    assert ops_of(after_g)["Concat"] == int(not dropped)
    assert after_g.outputs == g.outputs and after_g.inputs == g.inputs
    for got, want in zip(run_reference(after_g, ins), before, strict=True):
        assert np.array_equal(got, want)
    d = deploy(m, ins, runner="host", options={"sanitize": True})
    for got, want in zip(d.run(ins), before, strict=True):
        assert np.array_equal(got, want)


@pytest.mark.parametrize(("op", "b_shape", "b_dtype", "mul"), [
    ("Add", (2, 8, 64), "int8", 43142),   # MicroLlama's residual add (int16 sum) -> int8
    ("Sub", (8, 1), "int16", 977),        # broadcast per row
    ("Mul", (64,), "int8", 1383),         # MicroLlama's gated product
    ("Mul", (2, 8, 64), "int16", 1 << 20),  # v * mul beyond 32 bits where the output saturates: clamp, 32 bits
])
def test_requant_folds_into_elementwise(op, b_shape, b_dtype, mul):
    """Add/Sub/Mul -> RequantShift (scalar mul/add) becomes one Requantized<op>; bit-exact on the reference and the
    host C (sanitizers on)."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 8, 64])
    a.doc_string = DTYPE_TAG + "int8"
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, list(b_shape))
    b.doc_string = DTYPE_TAG + b_dtype
    inits = [numpy_helper.from_array(np.array(mul, np.int32), "mul"), numpy_helper.from_array(np.array(-77, np.int32),
                                                                                                "add")]
    nodes = [helper.make_node(op, ["a", "b"], ["s"], name="op"),
             helper.make_node("RequantShift", ["s", "mul", "add"], ["y"], name="rq", div=1 << 16, n_levels_out=256,
                              signed=1)]
    g0 = helper.make_graph(nodes, "ew", [a, b], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g0, opset_imports=[helper.make_opsetid("", 13)])
    info = np.iinfo(b_dtype)
    ins = [RNG.integers(-128, 128, size=(2, 8, 64)).astype(np.int8),
           RNG.integers(max(info.min, -20000), min(info.max, 20000) + 1, size=b_shape).astype(b_dtype)]
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = run_passes(g.copy())
    assert ops_of(after_g) == Counter({f"Requantized{op}": 1})
    assert np.array_equal(run_reference(after_g, ins)[0], before[0])
    d = deploy(m, ins, runner="host", options={"sanitize": True})
    assert np.array_equal(d.run(ins)[0], before[0])
    if mul == 1 << 20:
        assert "every output saturates: clamped first" in "".join(d.c_sources.values())


def test_requant_beyond_32_bits_even_at_saturation():
    """div = 2^30: even the saturation thresholds times div leave 32 bits, so the output stage computes in 64 bits."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [4, 16])
    a.doc_string = DTYPE_TAG + "int16"
    inits = [numpy_helper.from_array(np.array(1 << 20, np.int32), "mul"),
             numpy_helper.from_array(np.array(-12345, np.int32), "add")]
    nodes = [helper.make_node("Mul", ["a", "a"], ["s"], name="op"),
             helper.make_node("RequantShift", ["s", "mul", "add"], ["y"], name="rq", div=1 << 30, n_levels_out=256,
                              signed=1)]
    g0 = helper.make_graph(nodes, "w", [a], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g0, opset_imports=[helper.make_opsetid("", 13)])
    ins = [RNG.integers(-32768, 32768, size=(4, 16)).astype(np.int16)]
    before = run_reference(import_onnx(m, ins), ins)
    d = deploy(m, ins, runner="host", options={"sanitize": True})
    assert np.array_equal(d.run(ins)[0], before[0])
    assert "_rq(int64_t t)" in "".join(d.c_sources.values())


@pytest.mark.parametrize(("op", "attrs", "mul"), [
    ("iHardswish", {"three": 96, "six": 192, "one_over_six": 42}, 7),  # MicroLlama's MLP activation
    ("iHardswish", {"three": 96, "six": 192, "one_over_six": 42}, 1 << 22),  # 64-bit output stage
    ("TrueIntegerDiv", {"Delta": 1 << 16, "eps": 1, "eta": 1, "y": 3}, 4),  # attention scaling
    ("iSoftmax", {"coeffA": 1, "coeffB": 68, "coeffC": 2418, "log2": 50, "n_levels": 256}, 32921),  # attention
])
def test_requant_folds_into_unary_integer_ops(op, attrs, mul):
    """iHardswish / TrueIntegerDiv / iSoftmax (results that QuantLib always requantizes) -> RequantShift with
    scalar parameters: one fused layer, bit-exact on the reference and the host C."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8, 32])
    x.doc_string = DTYPE_TAG + "int8"
    inits = [numpy_helper.from_array(np.array(mul, np.int32), "mul"), numpy_helper.from_array(np.array(5, np.int32),
                                                                                                "add")]
    nodes = [helper.make_node(op, ["x"], ["t"], name="op", **attrs),
             helper.make_node("RequantShift", ["t", "mul", "add"], ["y"], name="rq", div=1 << 16, n_levels_out=256,
                              signed=1)]
    g0 = helper.make_graph(nodes, "un", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g0, opset_imports=[helper.make_opsetid("", 13)])
    ins = [RNG.integers(-128, 128, size=(2, 8, 32)).astype(np.int8)]
    g = import_onnx(m, ins)
    before = run_reference(g, ins)
    after_g = run_passes(g.copy())
    fused = {"iHardswish": "RequantizedHardswish", "TrueIntegerDiv": "RequantizedTrueIntegerDiv",
             "iSoftmax": "RequantizedSoftmax"}[op]
    assert ops_of(after_g) == Counter({fused: 1})
    assert np.array_equal(run_reference(after_g, ins)[0], before[0])
    d = deploy(m, ins, runner="host", options={"sanitize": True})
    assert np.array_equal(d.run(ins)[0], before[0])


@pytest.mark.parametrize(("l1", "channel_split"), [(4096, False), (2048, True)])
def test_requantized_conv_tiles_slice_mul_and_add_with_the_channels(l1, channel_split):
    """Under a small L1 the fused conv is split along rows (4 KiB) or also along output channels (2 KiB): each tile
    reads its own slice of the per-channel mul and add. Bit-exact against the unfused graph's reference."""
    m, ins = conv_rq_model((1, 8, 12, 12), (16, 8, 3, 3), attrs=P1)
    before = run_reference(import_onnx(m, ins), ins)
    d = deploy(m, ins, runner="host", options={"engines": {"*": "cluster"}, "l1": l1, "sanitize": True})
    (row,) = [r for r in d.report["layers"] if r["op"] == "RequantizedConv"]
    assert row["tiles"] > 1 and (row["tile_shape"][1] < 16) == channel_split
    assert np.array_equal(d.run(ins)[0], before[0])


@pytest.mark.parametrize(("op", "bounds", "fused"), [
    ("Add", {"attrs": (-1500, None)}, True),     # MicroLlama's score + mask, clipped below for the softmax
    ("Sub", {"inputs": (-300, 250)}, True),       # bounds as constant inputs
    ("Mul", {"attrs": (None, 900)}, True),        # upper bound only
    ("Add", {"attrs": (50, -50)}, True),          # min > max: every output is max (ONNX order)
    ("Add", {"runtime": True}, False),            # a bound computed at run time: left alone
])
def test_clip_folds_into_elementwise(op, bounds, fused):
    """Add/Sub/Mul -> Clip with constant bounds becomes one Clipped<op> whose kernel clamps as it stores;
    bit-exact on the reference and the host C (sanitizers on)."""
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [16, 64])
    a.doc_string = DTYPE_TAG + "int8"
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [64])
    b.doc_string = DTYPE_TAG + "int16"
    vis, inits, clip_in, attrs = [a, b], [], ["s"], {}
    feeds = [RNG.integers(-128, 128, size=(16, 64)).astype(np.int8),
             RNG.integers(-2000, 2000, size=(64,)).astype(np.int16)]
    if "attrs" in bounds:
        attrs = {k: float(v) for k, v in zip(("min", "max"), bounds["attrs"], strict=True) if v is not None}
    elif "inputs" in bounds:
        inits = [numpy_helper.from_array(np.array(v, np.int32), n) for n, v in zip(("lo", "hi"), bounds["inputs"],
                                                                                      strict=True)]
        clip_in += ["lo", "hi"]
    else:
        lo = helper.make_tensor_value_info("lo", TensorProto.FLOAT, [])
        lo.doc_string = DTYPE_TAG + "int16"
        vis.append(lo)
        feeds.append(np.array(-700, np.int16))
        clip_in += ["lo"]
    nodes = [helper.make_node(op, ["a", "b"], ["s"], name="op"), helper.make_node("Clip", clip_in, ["y"], name="clip",
                                                                                  **attrs)]
    g0 = helper.make_graph(nodes, "c", vis, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g0, opset_imports=[helper.make_opsetid("", 13)])
    g = import_onnx(m, feeds)
    before = run_reference(g, feeds)
    after_g = run_passes(g.copy())
    assert ops_of(after_g) == (Counter({f"Clipped{op}": 1}) if fused else Counter({op: 1, "Clip": 1}))
    assert np.array_equal(run_reference(after_g, feeds)[0], before[0])
    d = deploy(m, feeds, runner="host", options={"sanitize": True})
    assert np.array_equal(d.run(feeds)[0], before[0])
