"""A picture of the static memory plan: every buffer as a box over (layer step, address), L1 and L2.

Needs matplotlib (the optional `plot` extra); the data comes from report["layout"], so a saved
report.json can be drawn again later with `python -m torch_deeploy.backend.plot report.json out.png`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def layout_of(plan: Any) -> dict[str, list[list[Any]]]:
    """[name, first step, last step, offset, bytes] per buffer, per memory level."""
    l2 = [[b, max(plan.buffers[b].first, 0), plan.buffers[b].last, off, plan.buffers[b].size]
          for b, off in sorted(plan.l2_offset.items())]
    l1 = [[b, max(plan.buffers[b].first, 0), plan.buffers[b].last, off, plan.buffers[b].size]
          for b, off in sorted(plan.l1_resident.items())]
    work = [["tiles:" + lay.node.name, s, s, 0, lay.work_bytes] for s, lay in sorted(plan.layers.items())
            if lay.work_bytes]
    return {"L1": l1 + work, "L2": l2}


def plot_memory(report: dict[str, Any], path: str | Path) -> bool:
    """Draw report["layout"] to path (PNG); False when matplotlib or the layout is missing."""
    layout = report.get("layout")
    if not layout:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, level in zip(axes, ("L1", "L2"), strict=True):
        top = 1
        steps = 1
        for name, first, last, off, size in layout.get(level, []):
            tiles = name.startswith("tiles:")
            ax.add_patch(Rectangle((first, off), last - first + 1, size, alpha=0.35 if tiles else 0.7,
                                   color="tab:gray" if tiles else "tab:blue", linewidth=0.3, ec="black"))
            top = max(top, off + size)
            steps = max(steps, last + 1)
        budget = report.get("memory", {}).get(level, {}).get("budget")
        if budget and level == "L1":
            ax.axhline(budget, color="tab:red", linestyle="--", linewidth=1, label=f"budget {budget} B")
            ax.legend(loc="upper right")
        ax.set_xlim(0, steps)
        ax.set_ylim(0, top * 1.05)
        ax.set_xlabel("layer step")
        ax.set_ylabel("address (bytes)")
        title = "L1: resident buffers (blue), tile slots (gray)" if level == "L1" else "L2: activations"
        ax.set_title(f"{report.get('network', '')} {title}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m torch_deeploy.backend.plot report.json out.png")
    ok = plot_memory(json.loads(Path(sys.argv[1]).read_text()), sys.argv[2])
    raise SystemExit(0 if ok else "no layout in the report, or matplotlib is not installed (pip install matplotlib)")
