"""Integerization rules: integer constants vs the exact float operation they stand for (hypothesis cases)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from torch_deeploy.ops import registry
from torch_deeploy.quant import rules


def ref(op: str, inputs: list[np.ndarray], **attrs: int) -> np.ndarray:
    spec = registry.get(op)
    return spec.reference(inputs, spec.validate_attrs(attrs))[0]


@settings(max_examples=300, deadline=None)
@given(st.floats(1e-6, 300.0), st.integers(-(2**20), 2**20))
def test_requant_vs_exact_rational_scale(ratio: float, x: int) -> None:
    rq = rules.requant_params(ratio)
    assert 0 < rq.mul < 2**16 or rq.div == 1
    y = int(ref("RequantShift", [np.array([x]), rq.mul, np.array(0)], div=rq.div, n_levels_out=2**40, signed=1)[0])
    # |mul/div - ratio| <= 1/(2 div), and rounding adds at most 1/2
    assert abs(y - x * ratio) <= 0.5 + abs(x) / (2 * rq.div) + 1e-9


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2**15 - 1), st.integers(0, 20), st.integers(-(2**16), 2**16))
def test_requant_is_exact_for_dyadic_ratios(m: int, j: int, x: int) -> None:
    ratio = m / 2**j
    rq = rules.requant_params(ratio)
    y = int(ref("RequantShift", [np.array([x]), rq.mul, np.array(0)], div=rq.div, n_levels_out=2**40, signed=1)[0])
    assert y == math.floor(x * ratio + 0.5)  # round half up, exactly


def test_requant_per_channel_shares_one_shift() -> None:
    rq = rules.requant_params(np.array([0.5, 0.001, 3.0]))
    assert rq.mul.shape == (3,) and np.all(rq.mul < 2**16) and rq.mul[0] * 6 == rq.mul[2]


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 0.25), st.integers(0, 10_000))
def test_i_softmax_close_to_softmax(scale: float, seed: int) -> None:
    x = np.random.default_rng(seed).integers(-128, 128, (4, 16))
    p = rules.i_softmax_params(scale)
    y = ref("iSoftmax", [x], coeffA=p.coeffA, coeffB=p.coeffB, coeffC=p.coeffC, log2=p.log2, n_levels=256) / 255
    s_eff = math.log(2) / p.log2  # the step the op really assumes
    exact = torch.softmax(torch.tensor(x * s_eff), -1).numpy()
    assert np.abs(y - exact).max() < 0.02 + 0.1 * scale  # the polynomial gets coarse as log2 = ln2/scale shrinks


def test_ita_max_matches_its_scale() -> None:
    x = np.random.default_rng(0).integers(-128, 128, (8, 16))
    y = ref("ITAMax", [x], n_levels=256) / 255
    exact = torch.softmax(torch.tensor(x * rules.ITA_SCALE), -1).numpy()
    assert np.abs(y - exact).max() < 0.1


@settings(max_examples=60, deadline=None)
@given(st.floats(0.008, 0.1))
def test_i_gelu_close_to_gelu(scale: float) -> None:
    x = np.arange(-128, 128)
    p = rules.i_gelu_params(scale)
    y = ref("iGELU", [x], b=p.b, one=p.one) * p.out_scale(scale)
    exact = torch.nn.functional.gelu(torch.tensor(x * scale)).numpy()
    assert np.abs(y - exact).max() < 0.03 * max(1.0, 128 * scale)
    assert np.abs(ref("iGELU", [x], b=p.b, one=p.one)).max() < 2**24  # exact in float32


@settings(max_examples=60, deadline=None)
@given(st.floats(0.005, 0.1))
def test_i_hardswish_close_to_hardswish(scale: float) -> None:
    x = np.arange(-128, 128)
    p = rules.i_hardswish_params(scale)
    raw = ref("iHardswish", [x], three=p.three, six=p.six, one_over_six=p.one_over_six)
    exact = torch.nn.functional.hardswish(torch.tensor(x * scale)).numpy()
    assert np.abs(raw * p.out_scale(scale) - exact).max() < 2 * scale
    assert np.abs(raw).max() < 2**24


@pytest.mark.parametrize("out_scale", [0.01, 0.03, 0.1])
def test_layer_norm_params(out_scale: float) -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(-100, 100, (6, 32))
    gamma, beta = rng.uniform(0.5, 1.5, 32), rng.uniform(-0.5, 0.5, 32)
    p = rules.norm_params(gamma, beta, out_scale)
    y = ref("iLayerNorm", [x, p.weight, p.bias], D=p.D, n_levels=256) * out_scale
    exact = torch.nn.functional.layer_norm(torch.tensor(x, dtype=torch.float64), (32,), torch.tensor(gamma),
                                           torch.tensor(beta)).numpy()
    exact = np.clip(exact, -128 * out_scale, 127 * out_scale)
    assert np.abs(y - exact).max() < 3 * out_scale + 0.03


@pytest.mark.parametrize("out_scale", [0.01, 0.05])
def test_rms_norm_params(out_scale: float) -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(-100, 100, (6, 32))
    gamma = rng.uniform(0.5, 1.5, 32)
    p = rules.norm_params(gamma, None, out_scale)
    y = ref("iRMSNorm", [x, p.weight], D=p.D, n_levels=256) * out_scale
    exact = torch.nn.functional.rms_norm(torch.tensor(x, dtype=torch.float64), (32,), torch.tensor(gamma)).numpy()
    exact = np.clip(exact, -128 * out_scale, 127 * out_scale)
    assert np.abs(y - exact).max() < 3 * out_scale + 0.03
