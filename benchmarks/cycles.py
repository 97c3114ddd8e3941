"""Per-layer cycles on GVSoC's siracusa target (cluster cycles), 1 core against 8 cores.

For each network: every layer's op, MACs, cycles and MACs/cycle on 1 and on 8 cores, the speed-up, and
the DMA bytes of the layer (from the tiling plan); then totals (and the DMA bytes the HAL counted).
Needs GVSoC and a RISC-V GCC (see torch_deeploy/runners/gvsoc.py). Outputs are checked against the
goldens as well. Nothing here is asserted.

usage: python benchmarks/cycles.py [NETWORK_DIR ...] [--shared ../shared] [--l1 KiB] [--cores 1 8]
                                  [--engine OP_OR_NODE=ENGINE ...] [--cluster-only]
       (default networks: MLPerf keyword spotting and the MicroLlama graphs)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torch_deeploy.api import compile as compile_model
from torch_deeploy.conformance import compare, load_case
from torch_deeploy.runners import gvsoc

DEFAULT = ["Models/MLPerf/KeywordSpotting", "Models/microLlama/INT8/microLlama1",
           "Models/microLlama/INT8/microLlama8_parallel"]


def run(folder: Path, root: Path, cores: int, l1: int | None, engines: dict[str, str] | None = None):
    case = load_case(root, folder)
    opts: dict = {"num_cores": cores}
    if l1:
        opts["l1"] = l1 * 1024
    if engines:
        opts["engines"] = engines
    d = compile_model(case.model, case.inputs, runner="gvsoc", options=opts)
    outs = d.run(case.inputs[: len(d.inputs)])
    bad = compare(outs, case.outputs, [o.type.is_float for o in d.outputs])
    return d, bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("networks", nargs="*", help="network folders (relative to the conformance root or paths)")
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--l1", type=int, default=None, help="L1 budget in KiB (default: the target's)")
    ap.add_argument("--cores", nargs="+", type=int, default=[1, 8])
    ap.add_argument("--all-layers", action="store_true", help="also list layers without MACs one by one")
    ap.add_argument("--engine", action="append", default=[], metavar="OP_OR_NODE=ENGINE",
                    help="pin an engine (cluster|neureka) per node, op type or '*' (e.g. '*=cluster'); repeatable")
    ap.add_argument("--cluster-only", action="store_true", help="same as --engine '*=cluster' (cluster kernels only)")
    args = ap.parse_args()
    engines: dict[str, str] = {}
    for e in args.engine + (["*=cluster"] if args.cluster_only else []):
        pat, sep, eng = e.partition("=")
        if not sep or not pat or not eng:
            raise SystemExit(f"--engine takes OP_OR_NODE=ENGINE, got {e!r}")
        engines[pat] = eng
    why = gvsoc.missing()
    if why:
        raise SystemExit(why)
    root = Path(args.shared) / "conformance" / "deeploy"
    for net in args.networks or DEFAULT:
        folder = Path(net) if Path(net).is_dir() else root / net
        res = {c: run(folder, root if folder.is_relative_to(root) else folder.parent, c, args.l1, engines or None)
               for c in args.cores}
        lo, hi = min(args.cores), max(args.cores)
        pinned = ", ".join(f"{p}={e}" for p, e in engines.items())
        print(f"\n== {net}  (L1 {args.l1 or 'default'} KiB; cluster cycles at 72 MHz in GVSoC"
              + (f"; engines {pinned})" if pinned else ")"))
        for c, (_d, bad) in res.items():
            print(f"   {c} core(s): {'outputs match the goldens' if bad is None else 'MISMATCH: ' + bad}")
        rows = {c: [r for r in d.report["layers"] if "cycles" in r] for c, (d, _) in res.items()}
        print("   layer = the whole layer (DMA, tile loop, kernels); kernel = inside the kernels (fork to join)")
        print(f"{'#':>3} {'op':14} {'MACs':>9} "
              + " ".join(f"{f'layer@{c}':>9} {f'kern@{c}':>9} {f'MAC/c@{c}':>9}" for c in args.cores)
              + f" {'layer x':>7} {'kern x':>7} {'DMA B':>8}")
        other = {c: 0 for c in args.cores}
        for i, r in enumerate(rows[hi]):
            if not r.get("macs") and not args.all_layers:
                for c in args.cores:
                    other[c] += rows[c][i]["cycles"]
                continue
            cells = " ".join(f"{rows[c][i]['cycles']:>9} {rows[c][i].get('kernel_cycles', 0):>9} "
                             f"{rows[c][i].get('kernel_macs_per_cycle', 0):>9.2f}" for c in args.cores)
            lx = rows[lo][i]["cycles"] / max(rows[hi][i]["cycles"], 1)
            kx = rows[lo][i].get("kernel_cycles", 0) / max(rows[hi][i].get("kernel_cycles", 0), 1)
            print(f"{r['index']:>3} {r['op'][:14]:14} {r['macs']:>9} {cells} {lx:>7.2f} {kx:>7.2f} "
                  f"{r.get('dma_bytes', 0):>8}")
        if not args.all_layers:
            cells = " ".join(f"{other[c]:>9} {'':>9} {'':>9}" for c in args.cores)
            print(f"{'':>3} {'(other ops)':14} {'':>9} {cells} {other[lo] / max(other[hi], 1):>7.2f}")
        macs = sum(r.get("macs", 0) for r in rows[hi])
        lin = {c: sum(r["cycles"] for r in rows[c] if r.get("macs")) for c in args.cores}
        kern = {c: sum(r.get("kernel_cycles", 0) for r in rows[c] if r.get("macs")) for c in args.cores}
        tot = {c: res[c][0].last_perf["total"] for c in args.cores}
        print(f"total: {macs} MACs; " + "; ".join(
            f"{c} core(s): {tot[c]} cycles, linear layers {lin[c]} cycles ({macs / max(lin[c], 1):.2f} MAC/c), "
            f"their kernels {kern[c]} cycles ({macs / max(kern[c], 1):.2f} MAC/c)" for c in args.cores)
            + f"; speed-up {tot[lo] / max(tot[hi], 1):.2f}x (linear layers {lin[lo] / max(lin[hi], 1):.2f}x, "
            f"their kernels {kern[lo] / max(kern[hi], 1):.2f}x)")
        d = res[hi][0]
        m = d.report["measured"]
        print(f"DMA counted by the HAL ({hi} cores): L2->L1 {m['dma_to_l1_bytes']} B, "
              f"L1->L2 {m['dma_to_l2_bytes']} B; plan: {d.report['totals'].get('dma_bytes')} B; "
              f"layer tables into L1: {m.get('dma_table_bytes')} B")


if __name__ == "__main__":
    main()
