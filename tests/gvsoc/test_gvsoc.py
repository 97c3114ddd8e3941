"""GVSoC (siracusa) runner: a few conformance networks bit-exact on the simulator, cycles returned, SIMD
encodings checked against the portable C, and the 1-core vs 8-core speed-up of the SIMD convolution.

Skipped (with how to install) when GVSoC or the RISC-V toolchain is missing; see runners/gvsoc.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CONFORMANCE
from torch_deeploy.runners import gvsoc

_MISSING = gvsoc.missing()
pytestmark = [pytest.mark.requires_gvsoc,
              pytest.mark.skipif(_MISSING is not None, reason=f"GVSoC runner unavailable: {_MISSING}")]

SMALL = ["Kernels/Integer/Add/Regular", "Kernels/Integer/Conv/Regular_2D_RQ", "Kernels/Integer/GEMM/Regular",
         "Kernels/Integer/MatMul/Regular", "Kernels/Integer/Softmax/Regular", "Models/MLPerf/KeywordSpotting"]


def _case(name: str):
    from torch_deeploy.conformance import load_case

    if not (CONFORMANCE / name).is_dir():
        pytest.fail(f"conformance network {name} not found under {CONFORMANCE}")
    return load_case(CONFORMANCE, CONFORMANCE / name)


def _run(name: str, **options):
    from torch_deeploy.api import compile as compile_model
    from torch_deeploy.conformance import compare

    case = _case(name)
    d = compile_model(case.model, case.inputs, runner="gvsoc", options=options)
    outs = d.run(case.inputs[: len(d.inputs)])
    assert compare(outs, case.outputs, [o.type.is_float for o in d.outputs]) is None
    return d


@pytest.mark.parametrize("name", SMALL)
def test_conformance_on_gvsoc(name):
    d = _run(name)
    perf = d.last_perf
    assert perf["total"] > 0 and len(perf["layers"]) > 0
    assert d.report["measured"]["total_cycles"] == perf["total"]


@pytest.mark.parametrize("name", ["Models/CNN_Linear1", "Models/microLlama/INT8/microLlama8_parallel"])
def test_cluster_only_conformance_on_gvsoc(name):
    """Every linear layer on the cluster cores: the 32-channel 3x3 conv's receptive-field buffer (1152 B) on a
    core's stack, and the folded RequantizedGemm / RequantizedMatMul kernels with their clip instructions."""
    d = _run(name, engines={"*": "cluster"})
    ops = {r["op"] for r in d.report["layers"]}
    if "microLlama" in name:
        assert {"RequantizedGemm", "RequantizedMatMul"} <= ops and "NeurekaConv" not in ops


def test_small_l1_on_gvsoc():
    _run("Kernels/Integer/Conv/PW_2D", l1=16 * 1024)


def test_conv_speedup_8_cores():
    cluster = {"engines": {"*": "cluster"}}  # the cluster's SIMD convolution, not N-EUREKA
    one = _run("Kernels/Integer/Conv/PW_2D", num_cores=1, **cluster).last_perf["total"]
    eight = _run("Kernels/Integer/Conv/PW_2D", num_cores=8, **cluster).last_perf["total"]
    assert one / eight > 6.0, (one, eight)


def test_simd_encodings(tmp_path: Path):
    """pv.sdotsp.b / pv.sdotusp.b / pv.dotsp.b / pv.dotusp.b / p.lw / p.clipi / p.clipui / p.min / p.max / p.addNi /
    p.mac / p.msu / pv.max.b / pv.max.h / pv.packlo.b / pv.packhi.b (.insn encodings) agree with the portable C on
    GVSoC."""
    sdir = gvsoc.SIRACUSA_DIR
    hal = sdir.parent
    src = tmp_path / "simd.c"
    src.write_text(r'''
#include <stdio.h>
#include "deeploy_hal.h"
#include "siracusa.h"
#include "deeploy_simd.h"
static int32_t ref(int32_t acc, uint32_t a, uint32_t b, int us) {
  for (int i = 0; i < 32; i += 8)
    acc += (us ? (int32_t)(uint8_t)(a >> i) : (int32_t)(int8_t)(uint8_t)(a >> i)) * (int32_t)(int8_t)(uint8_t)(b >> i);
  return acc;
}
static volatile int errs;
static simd_word_t buf[4] = {1u, 2u, 3u, 4u};
static void entry(void *x) { (void)x;
  uint32_t s = 12345;
  for (int i = 0; i < 5000; i++) {
    s = s * 1103515245u + 12345u; uint32_t a = s; s = s * 1103515245u + 12345u; uint32_t b = s ^ (s >> 7);
    int32_t acc = (int32_t)(s >> 3) - 100000;
    if (i < 2) { a = 0x80808080u; b = i ? 0x7f7f7f7fu : 0x80ff0180u; }
    errs += simd_sdotsp4(acc, a, b) != ref(acc, a, b, 0);
    errs += simd_sdotusp4(acc, a, b) != ref(acc, a, b, 1);
    errs += simd_dotsp4(a, b) != ref(0, a, b, 0);
    errs += simd_dotusp4(a, b) != ref(0, a, b, 1);
    const int32_t v = (int32_t)(a >> (b & 31u)) * ((b & 64u) ? -1 : 1);
    errs += SIMD_CLIPI(v, 8) != (v < -128 ? -128 : (v > 127 ? 127 : v));
    errs += SIMD_CLIPUI(v, 9) != (v < 0 ? 0 : (v > 255 ? 255 : v));
    errs += SIMD_CLIPI(v, 16) != (v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
    errs += SIMD_CLIPUI(v, 17) != (v < 0 ? 0 : (v > 65535 ? 65535 : v));
    errs += simd_min((int32_t)a, (int32_t)b) != ((int32_t)a < (int32_t)b ? (int32_t)a : (int32_t)b);
    errs += simd_max((int32_t)a, (int32_t)b) != ((int32_t)a > (int32_t)b ? (int32_t)a : (int32_t)b);
    const int64_t wide = (int64_t)(int32_t)a + (int64_t)(int32_t)b; /* the wrapped 32-bit sum, arithmetic shifts */
    const int32_t sum = (int32_t)(uint32_t)(uint64_t)wide;
    errs += SIMD_ADDN(a, b, 0) != sum;
    errs += SIMD_ADDN(a, b, 7) != (sum < 0 ? -(int32_t)((-(int64_t)sum + 127) / 128) : sum / 128);
    errs += SIMD_ADDN(a, b, 31) != (sum < 0 ? -1 : 0);
    errs += simd_mac((int32_t)s, (int32_t)a, (int32_t)b) != (int32_t)(s + a * b); /* wrapping */
    errs += simd_mul((int32_t)a, (int32_t)b) != (int32_t)(a * b);
    errs += simd_msu((int32_t)s, (int32_t)a, (int32_t)b) != (int32_t)(s - a * b);
    uint32_t mb = 0, mh = 0;
    for (int k = 0; k < 32; k += 8) {
      const int8_t x = (int8_t)(uint8_t)(a >> k), y = (int8_t)(uint8_t)(b >> k);
      mb |= (uint32_t)(uint8_t)(x > y ? x : y) << k;
    }
    for (int k = 0; k < 32; k += 16) {
      const int16_t x = (int16_t)(uint16_t)(a >> k), y = (int16_t)(uint16_t)(b >> k);
      mh |= (uint32_t)(uint16_t)(x > y ? x : y) << k;
    }
    errs += (uint32_t)simd_max_b4(a, b) != mb || (uint32_t)simd_max_h2(a, b) != mh;
    int32_t m0 = (int32_t)a, m1 = (int32_t)b, m2 = v, m3 = (int32_t)s;
    SIMD_MUL4(m0, m1, m2, m3, (int32_t)b, v, (int32_t)s, (int32_t)a);
    errs += m0 != (int32_t)(a * b) || m1 != (int32_t)(b * (uint32_t)v);
    errs += m2 != (int32_t)((uint32_t)v * s) || m3 != (int32_t)(s * a);
    const uint32_t w = simd_pack4((int32_t)a, (int32_t)b, (int32_t)(s >> 5), v);
    errs += w != ((a & 0xffu) | (b & 0xffu) << 8 | ((s >> 5) & 0xffu) << 16 | ((uint32_t)v & 0xffu) << 24);
  }
  const simd_word_t *p = buf; uint32_t v0, v1;
  SIMD_LOAD_INC(v0, p); SIMD_LOAD_INC(v1, p);
  errs += v0 != 1u || v1 != 2u || p != buf + 2;
  printf("errors %d\n", errs);
}
int main(void) { sir_cluster_run(entry, 0); return errs ? 1 : 0; }
''')
    cc = gvsoc.find_gcc()
    elf = tmp_path / "simd.elf"
    cflags = [f for f in gvsoc._cflags(8, "-O2") if not f.startswith("--specs")]
    subprocess.run([cc, *cflags, f"-I{sdir}", f"-I{hal}", str(sdir / "crt0.S"),
                    str(sdir / "siracusa_rt.c"), str(sdir / "hal_siracusa.c"), str(src),
                    *gvsoc._ldflags(sdir, 8), "-o", str(elf)], check=True)
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([gvsoc.find_gvsoc(), "--target=siracusa", f"--binary={elf}", f"--work-dir={work}", "run"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "errors 0" in proc.stdout, proc.stdout + proc.stderr


def test_parse_output_rejects_truncated():
    with pytest.raises(Exception, match="without printing"):
        gvsoc.parse_output("OUT 0 00ff\n", 1)
    raw, perf = gvsoc.parse_output("OUT 0 00ff\nOUT 0 10\nPERF total 5\nPERF layer 0 4\nDONE\n", 1)
    assert raw == [bytes([0, 255, 16])] and perf["total"] == 5 and perf["layers"] == [4]
    assert np.frombuffer(raw[0], np.uint8).tolist() == [0, 255, 16]


def test_gemm_paths_tables_and_kernel_cycles_on_gvsoc():
    """A one-row Gemm (matrix-vector path, with a remainder column) and a 4x4-block Gemm in one network: bit
    exact against the numpy reference; the second layer's tables travel to L1 by DMA; kernel cycles are
    reported inside each layer's cycles."""
    from onnx import TensorProto, helper, numpy_helper

    from torch_deeploy.api import compile as compile_model
    from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
    from torch_deeploy.runners.reference import run_reference

    rng = np.random.default_rng(7)
    x1 = helper.make_tensor_value_info("x1", TensorProto.FLOAT, [1, 64])
    x2 = helper.make_tensor_value_info("x2", TensorProto.FLOAT, [8, 32])
    x1.doc_string = x2.doc_string = DTYPE_TAG + "int8"
    y1 = helper.make_tensor_value_info("y1", TensorProto.FLOAT, [1, 22])
    y2 = helper.make_tensor_value_info("y2", TensorProto.FLOAT, [8, 16])
    inits = [numpy_helper.from_array(rng.integers(-128, 128, (22, 64)).astype(np.int8), "w1"),
             numpy_helper.from_array(rng.integers(-500, 500, (22,)).astype(np.int32), "b1"),
             numpy_helper.from_array(rng.integers(-128, 128, (16, 32)).astype(np.int8), "w2")]
    nodes = [helper.make_node("Gemm", ["x1", "w1", "b1"], ["y1"], transB=1, alpha=2.0, beta=-1.0),
             helper.make_node("Gemm", ["x2", "w2"], ["y2"], transB=1)]
    model = helper.make_model(helper.make_graph(nodes, "gemms", [x1, x2], [y1, y2], inits),
                              opset_imports=[helper.make_opsetid("", 13)])
    feeds = [rng.integers(-128, 128, (1, 64)).astype(np.int8), rng.integers(-128, 128, (8, 32)).astype(np.int8)]
    d = compile_model(model, feeds, runner="gvsoc", options={"engines": {"*": "cluster"}})
    for got, want in zip(d.run(feeds), run_reference(import_onnx(model, feeds), feeds), strict=True):
        np.testing.assert_array_equal(got, want)
    assert d.report["memory"]["L1"]["prefetched_table_layers"] == 1
    assert d.report["measured"]["dma_table_bytes"] > 0
    timed = [r for r in d.report["layers"] if "cycles" in r]
    assert len(timed) == 2 and all(0 < r["kernel_cycles"] < r["cycles"] for r in timed)


def test_conv_paths_on_gvsoc():
    """The cluster convolution's gather and dot-product variants on the simulator (the host runs their portable
    C): 3-tap row windows (32 channels, one chunk), chunks of input channels accumulating in Y (64 channels),
    weight rows too far apart for load offsets (700 channels: one pointer per row), border windows wholly in
    the column padding, a strided uint8 case, 4-tap windows (KWS's first layer), depthwise and pointwise layers with
    misaligned word loads, bit exact against the numpy reference in one network."""
    from tests.backend._graph_cases import Case, Const, model
    from torch_deeploy.api import compile as compile_model
    from torch_deeploy.frontend.onnx import import_onnx
    from torch_deeploy.runners.reference import run_reference

    rng = np.random.default_rng(11)

    def x(shape, dtype="int8"):
        info = np.iinfo(dtype)
        return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)

    def w(shape):
        return Const(rng.integers(-128, 128, shape).astype(np.float32))

    cases = [Case("Conv", [x((1, 32, 8, 8)), w((8, 32, 3, 3))], {"pads": [1, 1, 1, 1]}),
             Case("Conv", [x((1, 64, 6, 5)), w((6, 64, 3, 3)), w((6,))], {"pads": [1, 1, 1, 1]}),
             Case("Conv", [x((1, 700, 2, 2)), w((8, 700, 1, 1))]),
             Case("Conv", [x((1, 4, 5, 6)), w((4, 4, 3, 3))], {"pads": [1, 3, 1, 4]}),
             Case("Conv", [x((1, 8, 9, 10), "uint8"), w((8, 8, 3, 3))], {"pads": [0, 2, 1, 1], "strides": [2, 2]}),
             Case("Conv", [x((1, 1, 21, 10)), w((8, 1, 10, 4))], {"pads": [4, 1, 5, 2], "strides": [2, 2]}),
             # depthwise 3x3 (columns walked down the rows, 4 and 1 at a time, a row left over), and pointwise over
             # 35 pixels (misaligned word loads of whole quads)
             Case("Conv", [x((1, 3, 10, 5)), w((3, 1, 3, 3)), w((3,))], {"group": 3, "pads": [1, 1, 1, 1]}),
             Case("Conv", [x((1, 16, 5, 7)), w((8, 16, 1, 1))])]
    m, feeds = model(cases)
    d = compile_model(m, feeds, runner="gvsoc", options={"engines": {"*": "cluster"}})
    src = next(v for k, v in d.c_sources.items() if k.endswith("network.c"))
    assert "SIMD_LOOP4X4_FAR(" in src and "chunks of" in src and "Depthwise 3x3" in src and "one image of 35" in src
    assert src.count("one word load per row") == 5  # the window gather of the 3- and 4-wide kernels
    for got, want in zip(d.run(feeds), run_reference(import_onnx(m, feeds), feeds), strict=True):
        np.testing.assert_array_equal(got, want)


def test_requantized_conv_channel_tiles_on_gvsoc():
    """The fused conv split along output channels under a 2 KiB L1 (each tile's slice of mul/add moved by the
    DMA), and a fused depthwise conv, bit exact on the simulator."""
    from tests.unit.test_passes import P1, conv_rq_model
    from torch_deeploy.api import compile as compile_model
    from torch_deeploy.frontend.onnx import import_onnx
    from torch_deeploy.runners.reference import run_reference

    for x_shape, w_shape, attrs, l1 in (((1, 8, 12, 12), (16, 8, 3, 3), P1, 2048),
                                         ((1, 6, 7, 9), (6, 1, 3, 3), {"group": 6, **P1}, None)):
        m, ins = conv_rq_model(x_shape, w_shape, attrs=attrs)
        opts = {"engines": {"*": "cluster"}, **({"l1": l1} if l1 else {})}
        d = compile_model(m, ins, runner="gvsoc", options=opts)
        assert [r["op"] for r in d.report["layers"]] == ["RequantizedConv"]
        np.testing.assert_array_equal(d.run(ins)[0], run_reference(import_onnx(m, ins), ins)[0])


def test_attention_matmul_paths_on_gvsoc():
    """One query's attention on the simulator: scores = keys (256 x 4 per head) times the query (one column:
    the matrix-vector path), requantized in 32 bits after clamping (v * mul needs more than 32 bits only where
    the output saturates); then weights (one row, uint8) times values (256 x 4: B's rows transposed in
    registers). Bit exact against the numpy reference."""
    from onnx import TensorProto, helper, numpy_helper

    from torch_deeploy.api import compile as compile_model
    from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
    from torch_deeploy.runners.reference import run_reference

    rng = np.random.default_rng(11)
    shapes = {"k": (1, 16, 256, 4), "q": (1, 16, 4, 1), "p": (1, 16, 1, 256), "v": (1, 16, 256, 4)}
    vis = []
    for name, shape in shapes.items():
        vi = helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))
        vi.doc_string = DTYPE_TAG + ("uint8" if name == "p" else "int8")
        vis.append(vi)
    inits = [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in
             (("m1", 39347), ("a1", 0), ("m2", 46372), ("a2", -1000))]
    nodes = [helper.make_node("MatMul", ["k", "q"], ["s"]),
             helper.make_node("RequantShift", ["s", "m1", "a1"], ["y1"], div=1 << 22, n_levels_out=256, signed=1),
             helper.make_node("MatMul", ["p", "v"], ["o"]),
             helper.make_node("RequantShift", ["o", "m2", "a2"], ["y2"], div=1 << 23, n_levels_out=256, signed=1)]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y1", "y2")]
    model = helper.make_model(helper.make_graph(nodes, "attn", vis, outs, inits),
                              opset_imports=[helper.make_opsetid("", 13)])
    feeds = [rng.integers(0, 256, s).astype(np.uint8) if n == "p" else rng.integers(-128, 128, s).astype(np.int8)
             for n, s in shapes.items()]
    d = compile_model(model, feeds, runner="gvsoc", options={"engines": {"*": "cluster"}})
    src = "".join(d.c_sources.values())
    assert "every output saturates: clamped first" in src and "One column" in src and "One row" in src
    for got, want in zip(d.run(feeds), run_reference(import_onnx(model, feeds), feeds), strict=True):
        np.testing.assert_array_equal(got, want)


def test_channel_requantized_gemm_on_gvsoc():
    """Gemm -> RequantShift with per-column mul/add (QuantLib's per-channel linear) as one ChannelRequantizedGemm on
    the simulator: the 4x4 blocks' word stores (N % 4 == 0), the one-row path, and columns not a multiple of 4 with
    the per-column clamp before a 32-bit requantization; bit exact against the numpy reference of the unfused
    graph."""
    from onnx import TensorProto, helper, numpy_helper

    from torch_deeploy.api import compile as compile_model
    from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
    from torch_deeploy.runners.reference import run_reference

    rng = np.random.default_rng(5)
    vis, nodes, inits, outs, feeds = [], [], [], [], []
    for i, (rows, k, n) in enumerate(((8, 32, 20), (1, 64, 12), (5, 16, 22))):
        x = helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, [rows, k])
        x.doc_string = DTYPE_TAG + "int8"
        vis.append(x)
        feeds.append(rng.integers(-128, 128, (rows, k)).astype(np.int8))
        inits += [numpy_helper.from_array(rng.integers(-128, 128, (k, n)).astype(np.int8), f"w{i}"),
                  numpy_helper.from_array(rng.integers(-3000, 3000, (n,)).astype(np.int32) // (60 if i == 2 else 1),
                                          f"b{i}"),
                  numpy_helper.from_array(rng.integers(*((1 << 14, 1 << 15) if i == 2 else (1, 40)), (n,))
                                          .astype(np.int32), f"m{i}"),  # the third: v * mul beyond 32 bits
                  numpy_helper.from_array(rng.integers(-500, 500, (n,)).astype(np.int32), f"a{i}")]
        nodes += [helper.make_node("Gemm", [f"x{i}", f"w{i}", f"b{i}"], [f"g{i}"]),
                  helper.make_node("RequantShift", [f"g{i}", f"m{i}", f"a{i}"], [f"y{i}"], div=1 << 12,
                                   n_levels_out=256, signed=1)]
        outs.append(helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, None))
    model = helper.make_model(helper.make_graph(nodes, "cgemm", vis, outs, inits),
                              opset_imports=[helper.make_opsetid("", 13)])
    d = compile_model(model, feeds, runner="gvsoc", options={"engines": {"*": "cluster"}})
    assert [r["op"] for r in d.report["layers"]] == ["ChannelRequantizedGemm"] * 3
    assert "clamped first" in "".join(d.c_sources.values())
    for got, want in zip(d.run(feeds), run_reference(import_onnx(model, feeds), feeds), strict=True):
        np.testing.assert_array_equal(got, want)
