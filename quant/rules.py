"""Integer constants of the deeploy operators, chosen from quantization scales (pure functions, no torch graph).

Every function maps float scales (the real value of one integer step) to the integer attributes of one
operator of OPERATORS.md, so that the integer operator approximates its float counterpart:

* :func:`requant_params`   RequantShift ``mul``/``div`` for ``y = round(x * ratio)``
* :func:`i_softmax_params` iSoftmax (I-BERT second-order exp on ``(-ln2, 0]``)
* :func:`i_gelu_params`    iGELU (I-BERT erf polynomial)
* :func:`i_hardswish_params`, :func:`norm_params` (iLayerNorm / iRMSNorm weight, bias, ``D``)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FLOAT32_EXACT = 1 << 24
# I-BERT polynomial constants (Kim et al., 2021): exp(p) ~ A*(p+B)^2 + C on (-ln2, 0],
# erf(x) ~ sign(x)*(a(min(|x|,-b)+b)^2+1)
EXP_A, EXP_B, EXP_C = 0.3585, 1.353, 0.344
ERF_A, ERF_B = -0.2888, -1.769
LN2 = math.log(2.0)
ITA_SCALE = LN2 / 32.0  # ITAMax computes 2^(-diff/32) = exp(-diff * ln2/32) (n_levels 256)


def round_half_up(v: np.ndarray | float) -> np.ndarray:
    """floor(v + 1/2) elementwise, as int64."""
    return np.floor(np.asarray(v, dtype=np.float64) + 0.5).astype(np.int64)


@dataclass(frozen=True)
class Requant:
    """RequantShift constants: y = floor((x*mul + add + div/2) / div) approximates round(x * ratio)."""

    mul: np.ndarray  # int64, same shape as the ratio
    div: int  # power of two

    @property
    def shift(self) -> int:
        return self.div.bit_length() - 1


def requant_params(ratio: np.ndarray | float, mul_bits: int = 16, max_shift: int = 40) -> Requant:
    """The largest shift k <= max_shift with every |mul| = round(|ratio| * 2^k) < 2^mul_bits.

    The relative error of each multiplier is at most 2^-(mul_bits-1) once the ratio is not tiny; ratios of
    2^mul_bits or more get k = 0 (mul = round(ratio)).
    """
    r = np.asarray(ratio, dtype=np.float64)
    if not np.all(np.isfinite(r)) or np.any(r == 0):
        raise ValueError(f"requantization ratio must be finite and non-zero, got {r}")
    top = float(np.max(np.abs(r)))
    k = max_shift
    while k > 0 and round_half_up(top * 2.0**k) >= 2**mul_bits:
        k -= 1
    mul = np.sign(r).astype(np.int64) * round_half_up(np.abs(r) * 2.0**k)
    return Requant(mul=mul, div=1 << k)


@dataclass(frozen=True)
class ISoftmax:
    coeffA: int
    coeffB: int
    coeffC: int
    log2: int


def i_softmax_params(scale: float) -> ISoftmax:
    """iSoftmax constants for an int8 input whose step is ``scale``: log2 = round(ln2/scale) steps equal ln 2.

    The polynomial is evaluated in the step ln2/log2 (the rounded one), so exponent and polynomial agree;
    A is folded into C (the output is normalised, so the polynomial's scale cancels).
    """
    log2 = max(1, int(round_half_up(LN2 / scale)))
    s = LN2 / log2
    return ISoftmax(coeffA=1, coeffB=int(round_half_up(EXP_B / s)), coeffC=int(round_half_up(EXP_C / (EXP_A * s * s))),
                    log2=log2)


@dataclass(frozen=True)
class IGelu:
    b: int
    one: int

    def out_scale(self, in_scale: float) -> float:
        """Step of iGELU's (int32) output: for large x the op returns x*one, GELU(x) ~ x."""
        return in_scale / self.one


def i_gelu_params(scale: float) -> IGelu:
    """iGELU constants for an input step ``scale``: erf's argument x/sqrt(2) has step scale/sqrt(2)."""
    s = scale / math.sqrt(2.0)
    return IGelu(b=int(round_half_up(ERF_B / s)), one=int(round_half_up(1.0 / (-ERF_A * s * s))))


def gelu_min_scale(max_abs: int = 128) -> float:
    """Smallest input step for which iGELU's output max_abs*one stays exact in float32 (< 2^24)."""
    # one ~ 2 / (|a| scale^2)  ->  max_abs * 2 / (|a| scale^2) < 2^24
    return math.sqrt(max_abs * 2.0 / (-ERF_A * FLOAT32_EXACT)) * 1.05


@dataclass(frozen=True)
class IHardswish:
    three: int
    six: int
    one_over_six: int

    def out_scale(self, in_scale: float) -> float:
        """x*s * relu6(x*s + 3)/6 ~ y * s^2 / (6*one_over_six)."""
        return in_scale * in_scale / (6.0 * self.one_over_six)


def i_hardswish_params(scale: float, max_abs: int = 128) -> IHardswish:
    """iHardswish constants; one_over_six = round(2^k/6) with the largest k keeping |y| < 2^24 (exact in float32)."""
    three, six = int(round_half_up(3.0 / scale)), int(round_half_up(6.0 / scale))
    k = 20
    while k > 3 and max_abs * six * int(round_half_up(2.0**k / 6.0)) >= FLOAT32_EXACT:
        k -= 1
    return IHardswish(three=three, six=max(six, 1), one_over_six=int(round_half_up(2.0**k / 6.0)))


@dataclass(frozen=True)
class NormParams:
    weight: np.ndarray  # int64
    bias: np.ndarray | None  # int64 (iLayerNorm), already including the rounding term D/2
    D: int


def norm_params(gamma: np.ndarray, beta: np.ndarray | None, out_scale: float, weight_bits: int = 16) -> NormParams:
    """iLayerNorm / iRMSNorm constants: the op computes floor((x_hat*weight + bias) / D) with x_hat = c/std, so
    weight = round(gamma*D/out_scale), bias = round(beta*D/out_scale) + D/2 (round half up); D = 2^k is the
    largest power of two keeping |weight| < 2^weight_bits."""
    g = np.asarray(gamma, dtype=np.float64)
    top = max(float(np.max(np.abs(g))), 1e-12)
    k = 24
    while k > 0 and top * 2.0**k / out_scale >= 2**weight_bits:
        k -= 1
    D = 1 << k
    w = round_half_up(g * D / out_scale)
    b = None
    if beta is not None:
        b = round_half_up(np.asarray(beta, dtype=np.float64) * D / out_scale) + D // 2
    return NormParams(weight=w, bias=b, D=D)
