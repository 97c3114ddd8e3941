"""torch.ops.deeploy.*: eager results bit-exact with the numpy references, fake kernels, export as single nodes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy import torch_ops
from torch_deeploy.ops import registry

SETTINGS = settings(max_examples=15, derandomize=True, deadline=None)


def _ref(op: str, arrays: list[np.ndarray], attrs: dict[str, Any]) -> np.ndarray:
    spec = registry.get(op)
    return spec.reference(arrays, spec.validate_attrs(attrs))[0]


def _check(fn: Any, op: str, tensors: list[np.ndarray], kw: dict[str, Any], attrs: dict[str, Any]) -> None:
    want = _ref(op, tensors, attrs)
    for dtype in (torch.float32, torch.int32):  # QuantLib-style float32 integers, and integer tensors
        got = fn(*[torch.from_numpy(t).to(dtype) for t in tensors], **kw)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got.numpy().astype(np.int64), want)


ints8 = st.integers(-128, 127)


def _arr(draw: Any, shape: tuple[int, ...], lo: int = -128, hi: int = 127) -> np.ndarray:
    n = int(np.prod(shape))
    return np.asarray(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)), dtype=np.int64).reshape(shape)


@st.composite
def rq_case(draw: Any) -> tuple:
    c = draw(st.integers(1, 4))
    x = _arr(draw, (2, c, 3), -3000, 3000)
    mul = _arr(draw, (c, 1), 1, 300)
    add = _arr(draw, (c, 1), -5000, 5000)
    return x, mul, add, 1 << draw(st.integers(0, 14)), draw(st.booleans())


@SETTINGS
@given(rq_case())
def test_requant_shift(case: tuple) -> None:
    x, mul, add, div, signed = case
    _check(torch.ops.deeploy.requant_shift, "RequantShift", [x, mul, add],
           {"div": div, "n_levels_out": 256, "signed": signed},
           {"div": div, "n_levels_out": 256, "signed": int(signed)})


@SETTINGS
@given(st.data(), st.integers(1, 3), st.integers(1, 9))
def test_softmaxes(data: Any, rows: int, n: int) -> None:
    x = _arr(data.draw, (rows, n))
    a = {"coeffA": 1, "coeffB": data.draw(st.integers(6, 345)), "coeffC": data.draw(st.integers(19, 62395)),
         "log2": data.draw(st.integers(4, 255)), "n_levels": 256}
    _check(torch.ops.deeploy.i_softmax, "iSoftmax", [x], a, a)
    _check(torch.ops.deeploy.ita_max, "ITAMax", [x], {"n_levels": 256}, {"n_levels": 256})


@SETTINGS
@given(st.data(), st.integers(1, 8))
def test_norms(data: Any, n: int) -> None:
    x, w, b = _arr(data.draw, (2, n)), _arr(data.draw, (n,), -3000, 3000), _arr(data.draw, (n,), -3000, 3000)
    _check(torch.ops.deeploy.i_rms_norm, "iRMSNorm", [x, w], {"D": 256}, {"D": 256})
    _check(torch.ops.deeploy.i_layer_norm, "iLayerNorm", [x, w, b], {"D": 1024}, {"D": 1024})
    _check(torch.ops.deeploy.i_no_norm, "iNoNorm", [x, w, b], {"D": 65536, "mul": 425}, {"D": 65536, "mul": 425})


@SETTINGS
@given(st.data())
def test_activations_and_divisions(data: Any) -> None:
    x = _arr(data.draw, (3, 4))
    y = _arr(data.draw, (1, 4), 1, 20)
    g = {"b": -data.draw(st.integers(0, 60)), "one": data.draw(st.integers(1, 2000))}
    _check(torch.ops.deeploy.i_gelu, "iGELU", [x], g, g)
    h = {"three": data.draw(st.integers(0, 300)), "six": 600, "one_over_six": 42}
    _check(torch.ops.deeploy.i_hardswish, "iHardswish", [x], h, h)
    d = {"Delta": 16384, "eps": 1, "eta": 200000, "y": data.draw(st.integers(1, 5))}
    _check(torch.ops.deeploy.true_integer_div, "TrueIntegerDiv", [x], d, d)
    q = {"Delta": 64, "eps": 1, "eta": 100}
    _check(torch.ops.deeploy.integer_div, "IntegerDiv", [x, y], q, q)
    axes = data.draw(st.sampled_from([[0], [1], [0, 1]]))
    keep = data.draw(st.booleans())
    _check(torch.ops.deeploy.integer_mean, "IntegerMean", [x], {"axes": axes, "keepdims": keep},
           {"axes": tuple(axes), "keepdims": int(keep)})


def test_every_op_is_registered_with_its_ir_name() -> None:
    for name, ir in torch_ops.IR_OPS.items():
        overload = getattr(torch.ops.deeploy, name).default
        assert torch_ops.is_deeploy_op(overload)
        assert torch_ops.ir_op_of(overload) == ir
        assert ir in registry.OPS


def test_non_integer_float_input_is_refused() -> None:
    from torch_deeploy.errors import OpError

    with pytest.raises(OpError, match="non-integer"):
        torch.ops.deeploy.i_gelu(torch.tensor([0.5]), -40, 1743)


def test_opcheck_schema_fake_and_export() -> None:
    x = torch.randint(-128, 128, (2, 3, 4)).float()
    w = torch.randint(-100, 100, (4,)).float()
    cases = [
        (torch.ops.deeploy.requant_shift.default, (x, torch.ones(3, 1), torch.zeros(3, 1), 4), {"signed": False}),
        (torch.ops.deeploy.i_rms_norm.default, (x, w, 64), {}),
        (torch.ops.deeploy.i_no_norm.default, (x, w, w, 1024, 7), {}),
        (torch.ops.deeploy.integer_mean.default, (x, [1], False), {}),
    ]
    for op, args, kw in cases:
        torch.library.opcheck(op, args, kw, test_utils=("test_schema", "test_faketensor"))

    class M(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ops.deeploy.integer_mean(torch.ops.deeploy.ita_max(x), [2], True)

    ep = torch.export.export(M(), (x,))
    targets = [n.target for n in ep.graph.nodes if n.op == "call_function"]
    assert targets == [torch.ops.deeploy.ita_max.default, torch.ops.deeploy.integer_mean.default]
    torch.testing.assert_close(ep.module()(x), M()(x), rtol=0, atol=0)
