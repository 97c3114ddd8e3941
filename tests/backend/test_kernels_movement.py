"""C kernels of the data-movement ops (views/copy, Transpose, Concat, Slice, Gather, Cast, Shape) against
the numpy references, bit-exactly, on the host runner (8 emulated cores: odd sizes exercise the split)."""

from __future__ import annotations

import numpy as np
import pytest
from _graph_cases import UNTILED, Case, Const, add_node, check, compare, model, rand_int

from torch_deeploy.api import compile as deploy
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.frontend.typing import constant_tensor
from torch_deeploy.ir.graph import Graph, Role, Tensor, TensorType
from torch_deeploy.runners.reference import run_reference

RNG_SEED = 1234


def i64(*v: int) -> Const:
    return Const(np.asarray(v, dtype=np.int64))


def n_kernels(deployed, name: str) -> int:
    return deployed.c_sources["src/network.c"].count(f"_{name}(const ")


def test_views_alias_and_copy_outputs():
    """Views of activations share the buffer (no kernel); a constant or input routed to an output is copied."""
    rng = np.random.default_rng(RNG_SEED)
    x = rand_int(rng, (2, 1, 7, 3))
    u = rand_int(rng, (1, 13), "uint8")
    w = rand_int(rng, (3, 1, 9), "int16")
    cases = [
        Case("Reshape", [x, i64(0, -1)]),
        Case("Flatten", [x], {"axis": 2}),
        Case("Squeeze", [x, i64(1)]),
        Case("Unsqueeze", [u, i64(0, 3)]),
        Case("Identity", [w]),
        Case("Reshape", [Const(rng.integers(-50, 50, (4, 5)).astype(np.int64)), i64(20)]),  # folded: a const output
        Case("Squeeze", [w], {"axes": [1]}),
    ]
    deployed = check(cases, sanitize=True, opset=11, options=UNTILED)
    # Only the folded constant becomes a copy kernel; every other case aliases its input
    assert n_kernels(deployed, "copy") == 1


def test_copy_kernel_on_constant_operands():
    """A view whose input is a constant cannot alias: the copy kernel runs for every view op."""
    rng = np.random.default_rng(RNG_SEED + 1)
    g = Graph("views")
    x = rand_int(rng, (9,))
    g.tensors["x"] = Tensor("x", TensorType.integer((9,), -128, 127), Role.INPUT)
    g.inputs.append("x")
    consts = {
        "a": rng.integers(-128, 128, (1, 13)), "b": rng.integers(0, 60000, (3, 1, 7)),
        "c": rng.integers(-(2**31), 2**31, (2, 1)), "d": rng.integers(0, 256, (1,)), "e": rng.integers(-5, 5, (7, 9)),
    }
    for k, v in consts.items():
        g.tensors[k] = constant_tensor(k, v)
    g.tensors["s"] = constant_tensor("s", np.asarray([13, 1], dtype=np.int64))
    g.tensors["ax"] = constant_tensor("ax", np.asarray([0, 2], dtype=np.int64))
    add_node(g, "Reshape", ["a", "s"], "y0")
    add_node(g, "Squeeze", ["b"], "y1", {"axes": [1]})
    add_node(g, "Flatten", ["c"], "y2", {"axis": 0})
    add_node(g, "Unsqueeze", ["d", "ax"], "y3")
    add_node(g, "Identity", ["e"], "y4")
    add_node(g, "Identity", ["x"], "y5")  # aliases the graph input
    for n in g.nodes:
        g.tensors[n.outputs[0]].role = Role.OUTPUT
        g.outputs.append(n.outputs[0])
    deployed = deploy(g, [x], options={"sanitize": True, **UNTILED})
    assert n_kernels(deployed, "copy") == 5
    compare(deployed.run([x]), run_reference(g, [x]), g.outputs)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "float32"])
def test_transpose(dtype):
    rng = np.random.default_rng(RNG_SEED + 2)

    def data(shape):
        return rng.standard_normal(shape).astype(np.float32) if dtype == "float32" else rand_int(rng, shape, dtype)

    cases = [
        Case("Transpose", [data((7, 9))], {"perm": [1, 0]}),
        Case("Transpose", [data((2, 7, 13))], {"perm": [0, 2, 1]}),
        Case("Transpose", [data((1, 3, 5, 7))], {"perm": [0, 1, 3, 2]}),
        Case("Transpose", [data((1, 9, 4, 3))], {"perm": [0, 2, 1, 3]}),
        Case("Transpose", [data((2, 3, 5, 7))], {"perm": [0, 2, 3, 1]}),
        Case("Transpose", [data((1, 5, 3, 2))], {"perm": [0, 3, 1, 2]}),
        Case("Transpose", [data((2, 3, 1, 7))], {"perm": [0, 3, 2, 1]}),
        Case("Transpose", [data((1, 2, 3, 2, 5, 3))], {"perm": [0, 1, 3, 2, 4, 5]}),
        Case("Transpose", [data((2, 3, 2, 1, 3, 5))], {"perm": [5, 2, 0, 4, 1, 3]}),
        Case("Transpose", [data((3, 1, 13))]),  # default: reverse
        Case("Transpose", [data((1, 1))], {"perm": [1, 0]}),
        Case("Transpose", [data((13,))], {"perm": [0]}),
    ]
    check(cases, sanitize=dtype == "int8")


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32"])
def test_transpose_word_runs(dtype):
    """Transposes whose inner runs are whole words at word-aligned offsets (MicroLlama's head split and merge) copy
    words, the cores splitting whole runs; one to three outer dims, runs of 1 to 16 words."""
    rng = np.random.default_rng(RNG_SEED + 7)
    w = {"int8": 4, "int16": 2, "int32": 1}[dtype]
    cases = [
        Case("Transpose", [rand_int(rng, (1, 8, 16, w), dtype)], {"perm": [0, 2, 1, 3]}),
        Case("Transpose", [rand_int(rng, (3, 5, 3 * w), dtype)], {"perm": [1, 0, 2]}),
        Case("Transpose", [rand_int(rng, (2, 3, 5, 16 * w), dtype)], {"perm": [2, 0, 1, 3]}),
        Case("Transpose", [rand_int(rng, (2, 3, 2, 3, w), dtype)], {"perm": [3, 1, 0, 2, 4]}),
        Case("Transpose", [rand_int(rng, (7, 2, 2 * w), dtype)], {"perm": [1, 0, 2]}),  # 7 runs per core: odd split
    ]
    d = check(cases, sanitize=True)
    assert "whole runs" in "".join(d.c_sources.values())


def test_transpose_4x4_blocks():
    """8-bit transposes of the last two dims (multiples of 4: MicroLlama's K^T) by 4x4 blocks in registers; with 0
    to 2 outer dims, other outer orders and an input row stride beyond the block."""
    rng = np.random.default_rng(RNG_SEED + 8)
    cases = [
        Case("Transpose", [rand_int(rng, (1, 16, 8, 4))], {"perm": [0, 1, 3, 2]}),
        Case("Transpose", [rand_int(rng, (12, 8))], {"perm": [1, 0]}),
        Case("Transpose", [rand_int(rng, (3, 2, 4, 12), "uint8")], {"perm": [1, 0, 3, 2]}),
        Case("Transpose", [rand_int(rng, (3, 4, 8))], {"perm": [2, 0, 1]}),  # [8, 3*4]: rows read with stride 8
        Case("Transpose", [rand_int(rng, (5, 4, 4))], {"perm": [0, 2, 1]}),  # 5 blocks over 8 cores
    ]
    d = check(cases, sanitize=True)
    assert "4x4 blocks" in "".join(d.c_sources.values())


def test_concat():
    rng = np.random.default_rng(RNG_SEED + 3)
    a, b = rand_int(rng, (1, 16, 16, 8)), rand_int(rng, (1, 16, 3, 8))
    f = rng.standard_normal((2, 5)).astype(np.float32)
    cases = [
        Case("Concat", [a, b], {"axis": -2}),
        Case("Concat", [rand_int(rng, (7, 3)), rand_int(rng, (2, 3)), rand_int(rng, (1, 3))], {"axis": 0}),
        Case("Concat", [rand_int(rng, (3, 1, 2)), rand_int(rng, (3, 5, 2))], {"axis": 1}),
        # int8 + uint8 -> int16 output: element-wise conversion instead of memcpy
        Case("Concat", [rand_int(rng, (2, 3, 1)), rand_int(rng, (2, 3, 4), "uint8")], {"axis": -1}),
        Case("Concat", [rand_int(rng, (1, 13)), Const(rng.integers(-300, 300, (1, 2)))], {"axis": 1}),
        Case("Concat", [rand_int(rng, (9,))], {"axis": 0}),
        Case("Concat", [f, rng.standard_normal((2, 4)).astype(np.float32)], {"axis": 1}),
        Case("Concat", [rand_int(rng, (1, 2, 1, 1)), rand_int(rng, (1, 2, 1, 1))], {"axis": 3}),
    ]
    check(cases, sanitize=True)


def test_concat_zero_sized_inputs():
    """An empty KV cache (1,16,0,4) concatenated with the new entry; also an entirely empty result."""
    rng = np.random.default_rng(RNG_SEED + 4)
    cache = np.zeros((1, 16, 0, 4), dtype=np.int8)
    cases = [
        Case("Concat", [cache, rand_int(rng, (1, 16, 1, 4))], {"axis": -2}),
        Case("Concat", [rand_int(rng, (1, 16, 3, 4)), np.zeros((1, 16, 0, 4), dtype=np.int8),
                        rand_int(rng, (1, 16, 2, 4))], {"axis": 2}),
        Case("Concat", [np.zeros((2, 0), dtype=np.int8), np.zeros((2, 0), dtype=np.int8)], {"axis": 1}),
    ]
    check(cases, sanitize=True)


def test_slice():
    rng = np.random.default_rng(RNG_SEED + 5)
    x = rand_int(rng, (1, 8, 8, 8))
    cases = [
        Case("Slice", [x, i64(0, 2), i64(8, 7), i64(1, 3), i64(2, 3)]),
        Case("Slice", [rand_int(rng, (13,)), i64(-1), i64(-100), i64(0), i64(-1)]),  # reverse
        Case("Slice", [rand_int(rng, (7, 9)), i64(5, 8), i64(0, 1), i64(0, 1), i64(-2, -3)]),
        Case("Slice", [rand_int(rng, (3, 9, 5), "uint8"), i64(1), i64(1000), i64(1)]),  # end clamped
        Case("Slice", [rand_int(rng, (4, 7)), i64(-3, 0), i64(-1, 7)]),  # no axes: leading dims
        Case("Slice", [rand_int(rng, (2, 9, 3), "int16"), i64(0, 8), i64(1, 2), i64(0, -2), i64(1, -4)]),
        Case("Slice", [rand_int(rng, (5, 6)), i64(3), i64(3), i64(1)]),  # empty result
        Case("Slice", [rng.standard_normal((3, 7)).astype(np.float32), i64(1), i64(7), i64(1), i64(3)]),
    ]
    check(cases, sanitize=True)


def test_gather_constant_indices():
    rng = np.random.default_rng(RNG_SEED + 6)
    cases = [
        Case("Gather", [rand_int(rng, (2, 7, 3)), Const(np.asarray([0, 6, -1, 3], dtype=np.int64))], {"axis": 1}),
        Case("Gather", [rand_int(rng, (9, 5), "uint8"), Const(np.asarray([[8, 0], [-9, 4]], dtype=np.int64))]),
        Case("Gather", [rand_int(rng, (3, 13)), Const(np.asarray(5, dtype=np.int64))], {"axis": -1}),
        Case("Gather", [rand_int(rng, (1, 13, 2), "int16"), Const(np.arange(13)[::-1].copy())], {"axis": 1}),
        Case("Gather", [rng.standard_normal((4, 3)).astype(np.float32), Const(np.asarray([3, 1]))]),
    ]
    check(cases, sanitize=True)


def test_gather_runtime_indices_clamped():
    """Run-time indices: in bounds as the reference; out of bounds clamped to the axis (never read outside x)."""
    rng = np.random.default_rng(RNG_SEED + 7)
    x = rand_int(rng, (3, 7, 2))
    ind = np.asarray([[0, -1, 6], [2, -7, 3]], dtype=np.int8)
    m, feeds = model([Case("Gather", [x, ind], {"axis": 1})])
    expected = run_reference(import_onnx(m, example_inputs=feeds), feeds)
    deployed = deploy(m, feeds, options={"sanitize": True})
    compare(deployed.run(feeds), expected, ["in bounds"])
    bad = np.asarray([[7, -8, 127], [-128, 100, -1]], dtype=np.int8)
    got = deployed.run([x, bad])[0]
    clamped = np.clip(np.where(bad < 0, bad.astype(np.int64) + 7, bad), 0, 6)
    np.testing.assert_array_equal(got, np.take(x, clamped, axis=1))


def test_cast_integer_targets():
    rng = np.random.default_rng(RNG_SEED + 8)
    i16, i32 = rand_int(rng, (13,), "int16"), rand_int(rng, (9,), "int32")
    cases = [
        Case("Cast", [i16], {"to": 3}),  # int16 -> INT8 wraps
        Case("Cast", [i16], {"to": 2}),  # -> UINT8 wraps
        Case("Cast", [i32], {"to": 5}),  # int32 -> INT16
        Case("Cast", [i32], {"to": 4}),  # -> UINT16
        Case("Cast", [i32], {"to": 12}),  # -> UINT32
        Case("Cast", [rand_int(rng, (7,), "uint8")], {"to": 3}),  # uint8 -> INT8
        Case("Cast", [rand_int(rng, (7,))], {"to": 2}),  # int8 -> UINT8
        Case("Cast", [rand_int(rng, (7,))], {"to": 6}),  # fits: plain copy
        Case("Cast", [i32], {"to": 7}),  # -> INT64
        Case("Cast", [np.asarray([0, 3, -2, 0, 1], dtype=np.int8)], {"to": 9}),  # -> BOOL
        Case("Cast", [i16], {"to": 1}),  # -> FLOAT
        Case("Cast", [np.asarray([2**31 - 1, -(2**31), 16777217, 5], dtype=np.int32)], {"to": 1}),  # rounding
    ]
    check(cases, sanitize=True)


def test_cast_from_float():
    rng = np.random.default_rng(RNG_SEED + 9)
    f = np.concatenate([rng.uniform(-400, 400, 11), [0.0, -0.0, 127.5, -128.9, 255.99, -0.7, 0.7, 1e10, -1e10]])
    f = f.astype(np.float32)
    cases = [
        Case("Cast", [f], {"to": 3}),  # trunc + saturate to int8
        Case("Cast", [f], {"to": 2}),  # to uint8
        Case("Cast", [f], {"to": 5}),  # int16
        Case("Cast", [f], {"to": 6}),  # int32 (1e10 saturates)
        Case("Cast", [f], {"to": 1}),  # float -> float
        Case("Cast", [f], {"to": 9}),  # float -> bool
    ]
    check(cases)


def test_shape_kernel():
    """Shape is folded by the ONNX importer; an IR graph can still reach the kernel."""
    g = Graph("shape")
    x = np.zeros((2, 7, 300), dtype=np.int8)
    g.tensors["x"] = Tensor("x", TensorType.integer(x.shape, -128, 127), Role.INPUT)
    g.inputs.append("x")
    add_node(g, "Shape", ["x"], "s0")
    add_node(g, "Shape", ["x"], "s1", {"start": -2})
    add_node(g, "Shape", ["x"], "s2", {"start": 1, "end": 1})
    for o in ("s0", "s1", "s2"):
        g.tensors[o].role = Role.OUTPUT
        g.outputs.append(o)
    deployed = deploy(g, [x], options={"sanitize": True})
    got = deployed.run([x])
    assert [v.tolist() for v in got] == [[2, 7, 300], [7, 300], []]
