"""Engine mapping: for every node each engine answers yes, or no with a reason; the mapping pass picks
N-EUREKA where it is legal and modelled faster (or where the user pins it), lowers those nodes to
NeurekaConv jobs and returns the mapping table that `torch-deeploy compile --explain` prints.

Pins (options["engines"], CLI --engine KEY=ENGINE): KEY is a node name, an op type or "*"; ENGINE is
"cluster" or "neureka". A node-name or op-type pin to an engine that cannot run the node is an error
showing the reason. "*": "cluster" turns N-EUREKA off (as options["neureka"] = False does);
"*": "neureka" maps every node N-EUREKA can run there regardless of the cost model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch_deeploy.engines import cluster, neureka
from torch_deeploy.errors import CompileError
from torch_deeploy.ir.graph import Graph, Node
from torch_deeploy.ops import registry
from torch_deeploy.target import Target

ENGINES = (cluster.NAME, neureka.NAME)


@dataclass
class MappingRow:
    node: str
    op: str
    engine: str
    reason: str
    neureka: str  # "yes" or the reason N-EUREKA cannot run the node ("-" for other ops)
    cycles: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        d = {"node": self.node, "op": self.op, "engine": self.engine, "reason": self.reason,
             "neureka": self.neureka}
        if self.cycles:
            d["modelled_cycles"] = {k: round(v) for k, v in self.cycles.items()}
        return d


def neureka_params(target: Target) -> dict[str, Any]:
    return dict(target.raw.get("engines", {}).get("neureka", {}))


def _neureka_available(target: Target, options: dict[str, Any], runner: str) -> str:
    """'' when N-EUREKA may be used, else why not."""
    if not neureka_params(target).get("enabled", False):
        return f"target {target.name} has no N-EUREKA"
    if options.get("neureka") is False:
        return "N-EUREKA disabled (options neureka=False)"
    if options.get("tiling") is False:
        return "untiled mode: N-EUREKA jobs run from L1"
    if runner == "gvsoc":
        from torch_deeploy.backend.templates import TEMPLATE_DIR

        hal = TEMPLATE_DIR / "hal" / "siracusa" / "hal_siracusa.c"
        if not hal.exists() or "hal_neureka_job" not in hal.read_text():
            return "runner gvsoc: the chip-side N-EUREKA job programming (hal_neureka_job) is not written yet"
    return ""


def _pins(g: Graph, options: dict[str, Any]) -> dict[str, str]:
    pins = dict(options.get("engines") or {})
    names = {n.name for n in g.nodes}
    for k, v in pins.items():
        if v not in ENGINES:
            raise CompileError(f"engine pin {k}={v}: unknown engine '{v}' (known: {', '.join(ENGINES)})")
        if k != "*" and k not in names and k not in registry.OPS:
            raise CompileError(f"engine pin {k}={v}: '{k}' is neither a node of '{g.name}' nor an op type")
    return pins


def map_engines(g: Graph, target: Target, options: dict[str, Any] | None = None, runner: str = "host"
                ) -> tuple[Graph, list[dict[str, Any]]]:
    """Choose an engine per node, lower N-EUREKA nodes; returns the new graph and the mapping table."""
    options = options or {}
    pins = _pins(g, options)
    off = _neureka_available(target, options, runner)
    if pins.get("*") == "cluster" and not off:
        off = "N-EUREKA disabled (pin *=cluster)"
    params = neureka_params(target)
    cost = dict(target.raw.get("cost", {}))
    cores = target.cores
    # weights of N-EUREKA nodes go to weight memory (no DMA) when the target has one and it is not disabled;
    # the mapping assumes they fit (the midend places them in order while they do)
    wmem = bool(params.get("weight_memory")) and options.get("weight_memory", True) is not False
    consumers = g.consumers()
    rows: list[MappingRow] = []
    chosen: dict[str, neureka.Lowering] = {}
    folded: dict[str, str] = {}
    for n in g.nodes:
        pin = pins.get(n.name) or pins.get(n.op)
        if n.op not in neureka.LINEAR_OPS:
            if pin == neureka.NAME:
                raise CompileError(f"node '{n.name}' ({n.op}) is pinned to neureka, but N-EUREKA cannot run it: "
                                   f"N-EUREKA runs {', '.join(neureka.LINEAR_OPS)} only")
            ok, why = cluster.can_run(g, n)
            rows.append(MappingRow(n.name, n.op, cluster.NAME, "" if ok else why, "-"))
            continue
        try:
            low: neureka.Lowering | None = neureka.analyse(g, n, consumers)
            legal = ""
        except neureka.NotLegal as e:
            low, legal = None, str(e)
        cyc = None
        if low is not None:
            cyc = {"cluster": neureka.cluster_estimate(g, low, cost, cores, target.dma),
                   "neureka": neureka.estimate_cycles(g, low, params, cost, cores, target.dma, wmem)}
        if pin == neureka.NAME:
            if off or low is None:
                raise CompileError(f"node '{n.name}' ({n.op}) is pinned to neureka, but N-EUREKA cannot run it: "
                                   f"{off or legal}")
            engine, reason = neureka.NAME, "pinned to neureka"
        elif pin == cluster.NAME:
            engine, reason = cluster.NAME, "pinned to cluster"
        elif off:
            engine, reason = cluster.NAME, off
        elif low is None:
            engine, reason = cluster.NAME, f"N-EUREKA cannot: {legal}"
        elif pins.get("*") == neureka.NAME:
            engine, reason = neureka.NAME, "legal (pin *=neureka)"
        else:
            assert cyc is not None
            faster = cyc["neureka"] < cyc["cluster"]
            engine = neureka.NAME if faster else cluster.NAME
            reason = (f"legal, modelled {'faster' if faster else 'slower'} on N-EUREKA "
                      f"({cyc['neureka']:.0f} vs {cyc['cluster']:.0f} cycles on the cluster)")
        if engine == neureka.NAME:
            assert low is not None
            chosen[n.name] = low
            if low.bias_add is not None:
                folded[low.bias_add.name] = n.name
                reason += f"; bias '{low.bias_add.name}' and"
            if low.rq is not None:
                folded[low.rq.name] = n.name
                reason += f"{'' if low.bias_add is not None else ';'} requantization '{low.rq.name}' folded into the " \
                          "normalization unit"
            elif low.rq_note:
                reason += f"; {low.rq_note}"
        rows.append(MappingRow(n.name, n.op, engine, reason, "yes" if low is not None else legal, cyc))
    for r in rows:
        if r.node in folded:
            r.engine = neureka.NAME
            r.reason = f"folded into '{folded[r.node]}' (N-EUREKA normalization unit)"
    if not chosen:
        return g, [r.as_dict() for r in rows]
    g = g.copy()
    nodes: list[Node] = []
    for n in g.nodes:
        if n.name in folded:
            continue
        if n.name in chosen:
            low = chosen[n.name]
            low.node = n
            if low.rq is not None:
                low.rq = g.node(low.rq.name)
            nodes.extend(neureka.lower(g, low))
            gone = [n.outputs[0]] if low.rq is not None else []
            if low.bias_add is not None:
                gone.append(low.bias_add.outputs[0])
            for t in gone:
                g.tensors.pop(t, None)  # the accumulator (and the biased one) no longer exist
        else:
            if n.engine is None:
                n.engine = cluster.NAME
            nodes.append(n)
    g.nodes = nodes
    neureka.cancel_transposes(g)
    return g, [r.as_dict() for r in rows]


def format_table(rows: list[dict[str, Any]]) -> str:
    """The mapping table: node, op, engine and the reason for the choice."""
    out = [f"{'node':36} {'op':14} {'engine':8} reason"]
    for r in rows:
        out.append(f"{r['node'][:36]:36} {r['op'][:14]:14} {r['engine']:8} {r['reason']}")
    return "\n".join(out)
