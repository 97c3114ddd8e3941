"""Cluster kernels on GVSoC at layer sizes typical of edge CNNs and small transformers, 1 core against 8 cores.

Each case is a one-layer int8 network (convolution or matrix product, requantized to int8 as in the
conformance networks) with seeded random data, compiled with every layer on the cluster cores, run on 1 and
on 8 cores and checked against the numpy reference. Prints per case the MACs, the kernel cycles (fork to
join) and MACs/cycle on each core count, and the speed-up. Nothing here is asserted.

usage: python benchmarks/kernels.py [--cases NAME ...] [--cores 1 8] [--list]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from torch_deeploy.api import compile as compile_model
from torch_deeploy.frontend.onnx import DTYPE_TAG, import_onnx
from torch_deeploy.runners import gvsoc
from torch_deeploy.runners.reference import run_reference


@dataclass(frozen=True)
class Layer:
    """kind: "conv" (x [1, C, H, W], weights [M, C / group, K, K], pads K // 2, stride s), "gemm" (x [R, C] times
    constant weights [C, M] plus bias) or "matmul" (two activations [B, R, C] @ [B, C, M])."""

    name: str
    kind: str
    C: int
    M: int
    H: int = 1
    W: int = 1
    K: int = 1
    group: int = 1
    stride: int = 1
    R: int = 1
    B: int = 1
    per_channel: bool = True  # requantization per output channel (else one mul/add, as MicroLlama's linears)


CASES = [
    Layer("conv3x3 32->32 16x16", "conv", C=32, M=32, H=16, W=16, K=3),
    Layer("conv3x3 64->64 8x8", "conv", C=64, M=64, H=8, W=8, K=3),
    Layer("conv3x3 16->32 32x32 s2", "conv", C=16, M=32, H=32, W=32, K=3, stride=2),
    Layer("conv1x1 64->64 16x16", "conv", C=64, M=64, H=16, W=16, K=1),
    Layer("conv1x1 128->128 8x8", "conv", C=128, M=128, H=8, W=8, K=1),
    Layer("dwconv3x3 64 16x16", "conv", C=64, M=64, H=16, W=16, K=3, group=64),
    Layer("conv1x1 64->64 25x4 (KWS)", "conv", C=64, M=64, H=25, W=4, K=1),
    Layer("gemm 16x256.256x256", "gemm", C=256, M=256, R=16),
    Layer("gemm 64x128.128x128", "gemm", C=128, M=128, R=64),
    Layer("gemm 8x64.64x64 (MicroLlama)", "gemm", C=64, M=64, R=8, per_channel=False),
    Layer("gemm 8x64.64x256 (MicroLlama MLP)", "gemm", C=64, M=256, R=8, per_channel=False),
    Layer("matmul 4x[32x64].[64x32]", "matmul", C=64, M=32, R=32, B=4),
    Layer("matmul [64x64].[64x64]", "matmul", C=64, M=64, R=64),
]


def _tagged(name: str, shape: list[int], dtype: str):
    vi = helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    vi.doc_string = DTYPE_TAG + dtype
    return vi


def build(layer: Layer, seed: int = 0):
    """The one-layer ONNX model (linear op + RequantShift to int8) and its input arrays."""
    rng = np.random.default_rng(seed)
    L = layer
    inits, inputs, vis = [], [], []
    if L.kind == "conv":
        x = rng.integers(-128, 128, (1, L.C, L.H, L.W), dtype=np.int8)
        w = rng.integers(-128, 128, (L.M, L.C // L.group, L.K, L.K)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, "w"))
        lin = helper.make_node("Conv", ["x", "w"], ["acc"], kernel_shape=[L.K, L.K], pads=[L.K // 2] * 4,
                               strides=[L.stride] * 2, group=L.group, dilations=[1, 1])
        rq_shape = [L.M, 1, 1]
        vis.append(_tagged("x", list(x.shape), "int8"))
        inputs.append(x)
    elif L.kind == "gemm":
        x = rng.integers(-128, 128, (L.R, L.C), dtype=np.int8)
        w = rng.integers(-128, 128, (L.C, L.M)).astype(np.float32)
        b = rng.integers(-4096, 4096, (L.M,)).astype(np.float32)
        inits += [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
        lin = helper.make_node("Gemm", ["x", "w", "b"], ["acc"], alpha=1.0, beta=1.0, transA=0, transB=0)
        rq_shape = [L.M] if L.per_channel else [1]
        vis.append(_tagged("x", list(x.shape), "int8"))
        inputs.append(x)
    else:
        a = rng.integers(-128, 128, (L.B, L.R, L.C), dtype=np.int8)
        bm = rng.integers(-128, 128, (L.B, L.C, L.M), dtype=np.int8)
        lin = helper.make_node("MatMul", ["a", "bm"], ["acc"])
        rq_shape = [1]
        vis += [_tagged("a", list(a.shape), "int8"), _tagged("bm", list(bm.shape), "int8")]
        inputs += [a, bm]
    k = L.C // L.group * L.K * L.K
    div = 1 << int(np.ceil(np.log2(128.0 * 128.0 * np.sqrt(k) / 64.0)))  # keeps outputs mostly unclipped
    mul = rng.integers(1, 64, rq_shape).astype(np.float32)
    add = rng.integers(-div // 2, div // 2, rq_shape).astype(np.float32)
    inits += [numpy_helper.from_array(mul, "mul"), numpy_helper.from_array(add, "add")]
    rq = helper.make_node("RequantShift", ["acc", "mul", "add"], ["y"], div=div, n_levels_out=256, signed=1)
    graph = helper.make_graph([lin, rq], L.name.replace(" ", "_"), vis,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), inputs


def macs(layer: Layer) -> int:
    L = layer
    if L.kind == "conv":
        oh, ow = (L.H - 1) // L.stride + 1, (L.W - 1) // L.stride + 1
        return L.M * oh * ow * (L.C // L.group) * L.K * L.K
    return L.B * L.R * L.C * L.M


def measure(layer: Layer, cores: int) -> tuple[int, int, str]:
    """(kernel cycles, layer cycles, check) of the case's linear layer on `cores` cores."""
    model, inputs = build(layer)
    d = compile_model(model, inputs, runner="gvsoc", options={"num_cores": cores, "engines": {"*": "cluster"}})
    got = d.run(inputs)
    want = run_reference(import_onnx(model, inputs), inputs)
    check = "ok" if all(np.array_equal(g, w) for g, w in zip(got, want, strict=True)) else "MISMATCH"
    rows = [r for r in d.report["layers"] if r.get("macs")]
    kern = sum(r.get("kernel_cycles", 0) for r in rows)
    lay = sum(r.get("cycles", 0) for r in rows)
    return kern, lay, check


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", nargs="+", default=None, help="substrings of case names to run")
    ap.add_argument("--cores", nargs=2, type=int, default=[1, 8], metavar=("FEW", "MANY"))
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.cases or any(s in c.name for s in args.cases)]
    if args.list or not cases:
        for c in CASES:
            print(f"{c.name:34} {macs(c):>9} MACs")
        return
    why = gvsoc.missing()
    if why:
        raise SystemExit(why)
    lo, hi = args.cores
    print("cluster kernels on GVSoC (siracusa), int8 in, requantized int8 out; kernel = fork to join of the linear "
          "layer (requantization fused or not, whatever the compiler does)\n")
    print(f"{'case':34} {'MACs':>9} {f'kern@{lo}':>9} {f'kern@{hi}':>9} {f'MAC/c@{lo}':>9} {f'MAC/c@{hi}':>9} "
          f"{'kern x':>7} {f'layer@{hi}':>9} {'check':>8}")
    for c in cases:
        (k1, _l1, c1), (k8, l8, c8) = measure(c, lo), measure(c, hi)
        n = macs(c)
        check = "ok" if c1 == c8 == "ok" else "MISMATCH"
        print(f"{c.name:34} {n:>9} {k1:>9} {k8:>9} {n / max(k1, 1):>9.2f} {n / max(k8, 1):>9.2f} "
              f"{k1 / max(k8, 1):>7.2f} {l8:>9} {check:>8}", flush=True)


if __name__ == "__main__":
    main()
