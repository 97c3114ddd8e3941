"""Tiling and memory planning over the conformance models at several L1 budgets (prints a table).

For each network and L1 size: number of tiles, peak L1 and L2 of the plan, DMA bytes against the lower
bound (every input, output and constant moved once), L1-resident buffers, and planning/solve times
(median of --repeat runs, measured in this process side by side). Nothing here is asserted.

usage: python benchmarks/tiling.py [--shared ../shared] [--l1 256 128 64 32] [--repeat 3] [--models-only]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from torch_deeploy.backend.report import dma_lower_bound
from torch_deeploy.engines import map_engines
from torch_deeploy.errors import DeeployError
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.midend.plan import plan_network
from torch_deeploy.passes.pipeline import run_passes
from torch_deeploy.target import load_target, resolve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--l1", nargs="+", type=int, default=[256, 128, 64, 32], help="L1 budgets in KiB")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--models-only", action="store_true", help="only Models/, not the single-kernel tests")
    ap.add_argument("--cluster-only", action="store_true", help="map every node to the cluster (no N-EUREKA)")
    args = ap.parse_args()
    root = Path(args.shared) / "conformance" / "deeploy"
    if not root.is_dir():
        raise SystemExit(f"conformance networks not found at {root}: pass --shared")
    nets = sorted(p.parent for p in root.rglob("network.onnx"))
    if args.models_only:
        nets = [n for n in nets if "Models" in n.parts]
    base = load_target("siracusa")
    print(f"{'network':44} {'L1':>6} {'tiles':>6} {'peak L1':>8} {'peak L2':>8} {'DMA B':>9} {'bound':>9} "
          f"{'ratio':>6} {'resid':>5} {'plan ms':>8} {'solve ms':>8}")
    worst_solve = (0.0, "")
    for net in nets:
        with np.load(net / "inputs.npz") as z:
            ins = [z[k] for k in z.files]
        g0 = import_onnx(net / "network.onnx", ins)
        name = str(net.relative_to(root))
        for kib in args.l1:
            tgt = resolve(base, {"l1": kib * 1024})
            plans, solves, total = [], [], []
            opts = {"engines": {"*": "cluster"}} if args.cluster_only else {}
            g, _ = map_engines(g0.copy(), tgt, opts, "host")  # as compile() does: engines, then lowering
            g = run_passes(g)
            try:
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    plan = plan_network(g, tgt)
                    total.append(time.perf_counter() - t0)
                    solves.append(plan.stats["solve_seconds"])
                    plans.append(plan)
            except DeeployError as e:
                print(f"{name[:44]:44} {kib:>4}Ki infeasible: {str(e)[:90]}")
                continue
            plan = plans[-1]
            bound = dma_lower_bound(g, set(plan.wmem))
            tiles = sum(lay.cand.ntiles for lay in plan.layers.values())
            dma = sum(o.dma_bytes for lay in plan.layers.values() for o in lay.cand.operands
                      if o.tensor not in lay.resident)
            l2 = plan.l2_arena_bytes + plan.const_bytes + plan.table_bytes
            solve_ms = statistics.median(solves) * 1e3
            if solve_ms > worst_solve[0]:
                worst_solve = (solve_ms, f"{name} at {kib} KiB")
            print(f"{name[:44]:44} {kib:>4}Ki {tiles:>6} {plan.l1_bytes:>8} {l2:>8} {dma:>9} {bound:>9} "
                  f"{dma / max(bound, 1):>6.2f} {len(plan.l1_resident):>5} {statistics.median(total) * 1e3:>8.1f} "
                  f"{solve_ms:>8.1f}")
    print(f"worst median solve time: {worst_solve[0]:.1f} ms ({worst_solve[1]})")


if __name__ == "__main__":
    main()
