"""N-EUREKA's functional model (NeurekaConv's numpy reference) against the original Conv/MatMul/Gemm
(+RequantShift) references: packing round trips, random layers (hypothesis) and every linear node of
the conformance networks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.engines._graphs import conv
from torch_deeploy.engines import map_engines
from torch_deeploy.engines.neureka import LINEAR_OPS, NotLegal, analyse, lower
from torch_deeploy.ops import registry
from torch_deeploy.ops.neureka_conv import pack_weights, unpack_weights, weight_shape
from torch_deeploy.runners.reference import run_reference
from torch_deeploy.target import load_target

SIRACUSA = load_target("siracusa")
CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "deeploy"


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["pw", "dense", "dw"]), cin=st.integers(1, 70), cout=st.integers(1, 40),
       seed=st.integers(0, 2**31))
def test_pack_round_trip(kind: str, cin: int, cout: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    if kind == "dw":
        cout = cin
    shape = {"pw": (cout, cin), "dense": (cout, cin, 3, 3), "dw": (cin, 3, 3)}[kind]
    wq = rng.integers(0, 256, shape)
    packed = pack_weights(wq, kind)
    assert packed.shape == weight_shape(kind, cin, cout) and packed.dtype == np.uint8
    assert np.array_equal(unpack_weights(packed, kind, cin, cout), wq)


def test_packing_layout_is_bit_serial() -> None:
    # the layout GVSoC's N-EUREKA model decodes (checked on GVSoC by tests/gvsoc):
    # 1x1: 8 groups of 4 channels x 4 bytes; bit plane b of channel 4g+c is bit 4b+c of group g's 32 bits
    wq = np.zeros((1, 32), dtype=np.int64)
    wq[0, 9] = 0b10000001  # group 2, c 1: plane 0 -> bit 1, plane 7 -> bit 29 (byte 8+3, bit 5)
    p = pack_weights(wq, "pw")[0, 0]
    assert p[8] == 1 << 1 and p[11] == 1 << 5 and p.sum() == (1 << 1) + (1 << 5)
    # 3x3: tap t (= 3*kh + kw), channel c at bit 28*t + c of each bit plane's word
    wq = np.zeros((1, 28, 3, 3), dtype=np.int64)
    wq[0, 2, 1, 2] = 0b100  # tap 5 of channel 2 -> bit 142 of plane 2
    p = pack_weights(wq, "dense")[0, 0]
    assert p[2, 142 // 8] == 1 << (142 % 8) and p.sum() == 1 << (142 % 8)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["pw", "dense", "dw"]), cin=st.integers(1, 40), cout=st.integers(1, 40),
       hw=st.integers(1, 9), pad=st.integers(0, 2), rq=st.booleans(), unsigned_in=st.booleans(),
       signed_out=st.booleans(), seed=st.integers(0, 2**31))
def test_functional_model_matches_conv(kind: str, cin: int, cout: int, hw: int, pad: int, rq: bool,
                                       unsigned_in: bool, signed_out: bool, seed: int) -> None:
    k = 1 if kind == "pw" else 3
    pad = 0 if kind == "pw" else pad
    if kind == "dw":
        cout = cin
    if hw + 2 * pad < k:
        hw = k
    rng = np.random.default_rng(seed)
    q = {"mul": rng.integers(0, 300, (1, cout, 1, 1)), "add": rng.integers(-9000, 9000, (1, cout, 1, 1)),
         "div": 2 ** int(rng.integers(8, 20)), "signed": int(signed_out)} if rq else False
    g, feeds = conv(cin, cout, k, hw=hw, group=cin if kind == "dw" else 1, pad=pad, rq=q, seed=seed,
                    unsigned_in=unsigned_in)
    g2, rows = map_engines(g, SIRACUSA, {"engines": {"*": "neureka"}})
    assert any(n.op == "NeurekaConv" for n in g2.nodes), rows
    assert np.array_equal(run_reference(g2, feeds)[0], run_reference(g, feeds)[0])


def _conformance_cases() -> list[Path]:
    return sorted(p.parent for p in CONFORMANCE.rglob("network.onnx")) if CONFORMANCE.exists() else []


@pytest.mark.skipif(not CONFORMANCE.exists(), reason="conformance networks not present")
def test_every_conformance_linear_node() -> None:
    """Each legal Conv/MatMul/Gemm of the conformance networks, lowered alone, gives the same tensors as
    the original node (+ folded RequantShift) on the network's real inputs."""
    from torch_deeploy.conformance import load_case
    from torch_deeploy.frontend.onnx import import_onnx

    checked = 0
    for folder in _conformance_cases():
        case = load_case(CONFORMANCE, folder)
        g = import_onnx(case.model, case.inputs)
        env = run_reference(g, case.inputs, keep_all=True)
        assert isinstance(env, dict)
        for node in [n for n in g.nodes if n.op in LINEAR_OPS]:
            try:
                low = analyse(g, node)
            except NotLegal:
                continue
            h = g.copy()
            new = lower(h, low)
            vals = dict(env)
            for n in new:
                args = [vals[i] if i in vals else h.tensors[i].data for i in n.inputs]
                for o, v in zip(n.outputs, registry.get(n.op).reference(args, n.attrs), strict=False):
                    vals[o] = v
            final = new[-1].outputs[0]
            assert np.array_equal(np.asarray(vals[final]), env[final]), (folder, node.name)
            checked += 1
    assert checked >= 100
