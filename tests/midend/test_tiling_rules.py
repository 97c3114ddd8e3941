"""Every op's tiling rule is exact: running the op's reference on a tile's input boxes with the tile's
attributes gives exactly that box of the full output. Checked on every node of every conformance
network, for several tilings per node (the property that makes tiled C correct)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import network_dirs, network_id
from torch_deeploy.backend.cgen import graph_knode
from torch_deeploy.conformance import load_case
from torch_deeploy.frontend.onnx import import_onnx
from torch_deeploy.midend.candidates import rule_of, tile_sizes
from torch_deeploy.midend.tiled_enum import all_tiles
from torch_deeploy.ops import registry
from torch_deeploy.runners.reference import run_reference


@pytest.mark.parametrize("folder", network_dirs(), ids=network_id)
def test_tiles_reproduce_the_whole_output(folder: Path, conformance: Path) -> None:
    case = load_case(conformance, folder)
    g = import_onnx(case.model, case.inputs)
    env = run_reference(g, case.inputs, keep_all=True)
    checked = 0
    for node in g.nodes:
        k = graph_knode(g, node)
        rule = rule_of(k)
        if not rule.split:
            continue
        spec = registry.get(node.op)
        full = env[node.outputs[0]]
        sizes = tile_sizes(g, node, rule)
        for tile in sizes[:: max(1, len(sizes) // 4)][:5]:
            for box in all_tiles(full.shape, tile)[:12]:
                tm = rule.inputs_for(k, box)
                args = []
                for i, (name, b) in enumerate(zip(node.inputs, tm.inputs, strict=True)):
                    if not name or b is None:
                        args.append(None)
                    elif tm.consts and i in tm.consts:
                        args.append(tm.consts[i])
                    else:
                        args.append(np.asarray(env[name])[b.slices()])
                got = spec.reference(args, tm.attrs)[0]
                want = full[box.slices()]
                np.testing.assert_array_equal(np.asarray(got).reshape(want.shape), want,
                                              err_msg=f"{node.name} ({node.op}) tile {box}")
                checked += 1
    assert checked or not any(rule_of(graph_knode(g, n)).split for n in g.nodes)
