"""Enumeration of the tiles of an output: row-major over the dims, last tile of a dim may be short."""

from __future__ import annotations

import itertools

from torch_deeploy.midend.regions import Box


def all_tiles(shape: tuple[int, ...], tile: tuple[int, ...]) -> list[Box]:
    ranges = [[(s, min(t, n - s)) for s in range(0, n, t)] if n else [(0, 0)] for n, t in zip(shape, tile, strict=True)]
    return [Box(tuple(r[0] for r in combo), tuple(r[1] for r in combo)) for combo in itertools.product(*ranges)]
