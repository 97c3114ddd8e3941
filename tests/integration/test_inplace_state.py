"""State written in place (KVCacheWrite) and persistent sessions: a cache updated without copying it."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

import torch_deeploy.torch_ops  # noqa: F401  (torch.ops.deeploy.*)
from torch_deeploy.api import compile
from torch_deeploy.errors import CompileError
from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
from torch_deeploy.runners.reference import run_reference


def _vi(name: str, shape: list[int], dtype: str = "int8") -> onnx.ValueInfoProto:
    v = helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    v.doc_string = DTYPE_TAG + dtype
    return v


def _model(read_old_after_write: bool = False) -> onnx.ModelProto:
    nodes = [helper.make_node("RequantShift", ["x", "m", "a"], ["row"], div=2, n_levels_out=256, signed=1),
             helper.make_node("KVCacheWrite", ["cache", "row", "pos"], ["cache2"], name="write"),
             helper.make_node("Transpose", ["cache2"], ["y"], perm=[0, 1, 3, 2])]
    outs = [_vi("y", [1, 2, 4, 8])]
    if read_old_after_write:
        nodes.append(helper.make_node("Transpose", ["cache"], ["z"], perm=[0, 1, 3, 2], name="late_reader"))
        outs.append(_vi("z", [1, 2, 4, 8]))
    inits = [numpy_helper.from_array(np.array([1.0], np.float32), "m"),
             numpy_helper.from_array(np.array([0.0], np.float32), "a")]
    return helper.make_model(helper.make_graph(nodes, "kv", [_vi("x", [1, 2, 1, 4]), _vi("cache", [1, 2, 8, 4]),
                                                             _vi("pos", [1], "uint8")], outs, inits))


def test_in_place_write_runs_as_a_direct_layer_and_a_session_keeps_the_cache() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1, 2, 1, 4)).astype(np.int8)
    cache = np.zeros((1, 2, 8, 4), np.int8)
    model = _model()
    g = import_onnx(model, [x, cache, np.array([7], np.uint8)])
    d = compile(model, [x, cache, np.array([7], np.uint8)], options={"sanitize": True})
    notes = [layer.get("note", "") for layer in d.report["layers"]]
    assert any(n.startswith("direct") for n in notes)
    # The output shares the cache input's buffer: no separate activation buffer for it.
    want = run_reference(g, [x, cache, np.array([3], np.uint8)])[0]
    np.testing.assert_array_equal(d.run([x, cache, np.array([3], np.uint8)])[0], want)
    # every layer that runs code has its measured time, the direct KVCacheWrite included
    timed = [layer for layer in d.report["layers"] if "cycles" in layer]
    assert [layer["op"] for layer in timed] == ["RequantShift", "KVCacheWrite", "Transpose"]
    with d.session() as s:
        c = cache
        for t in range(6):
            xt = rng.integers(-128, 128, (1, 2, 1, 4)).astype(np.int8)
            got = s.step([xt, c if t == 0 else None, np.array([t], np.uint8)])[0]
            env = run_reference(g, [xt, c, np.array([t], np.uint8)], keep_all=True)
            c = np.asarray(env["cache2"]).astype(np.int8)  # what the program now holds in its cache buffer
            np.testing.assert_array_equal(got, np.transpose(c, (0, 1, 3, 2)))
        assert np.count_nonzero(c[0, :, 6:, :]) == 0  # slots never written stay as the first step left them


def test_reading_the_old_cache_after_the_write_is_refused() -> None:
    x = np.zeros((1, 2, 1, 4), np.int8)
    with pytest.raises(CompileError, match="writes 'cache' in place, but node 'late_reader'"):
        compile(_model(read_old_after_write=True), [x, np.zeros((1, 2, 8, 4), np.int8), np.array([0], np.uint8)])


def test_torch_op_matches_the_reference_and_clamps_the_position() -> None:
    cache = torch.zeros(1, 2, 4, 3)
    row = torch.arange(6.0).reshape(1, 2, 1, 3)
    out = torch.ops.deeploy.kv_cache_write(cache, row, torch.tensor([9.0]))  # clipped to the last slot
    assert torch.equal(out[0, :, 3], row[0, :, 0]) and out[0, :, :3].abs().sum() == 0
