"""How a box of a row-major tensor is moved: a few nested loops around one 2-D DMA transfer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch_deeploy.midend.regions import Box


@dataclass(frozen=True)
class CopyPlan:
    """Byte offset of the box in the big tensor; outer (count, stride_bytes) levels looped in C,
    outermost first; then a 2-D transfer of `rows` rows of `row_bytes`, `stride` bytes apart in the big
    tensor and packed densely in the tile buffer."""

    offset: int
    outer: tuple[tuple[int, int], ...]
    rows: int
    row_bytes: int
    stride: int

    @property
    def transfers(self) -> int:
        n = 1
        for count, _ in self.outer:
            n *= count
        return n if self.rows else 0

    @property
    def nbytes(self) -> int:
        return self.transfers * self.rows * self.row_bytes


def copy_plan(shape: Sequence[int], box: Box, elem_bytes: int) -> CopyPlan:
    shape = [int(s) for s in shape]
    if box.numel == 0:
        return CopyPlan(0, (), 0, 0, 0)
    strides = [0] * len(shape)
    acc = elem_bytes
    for d in reversed(range(len(shape))):
        strides[d] = acc
        acc *= shape[d]
    offset = sum(s * st for s, st in zip(box.start, strides, strict=True))
    run, d = elem_bytes, len(shape) - 1
    while d >= 0 and box.size[d] == shape[d]:  # fully covered trailing dims: one contiguous run
        run *= shape[d]
        d -= 1
    if d >= 0:  # a partly covered dim is still contiguous within itself
        run *= box.size[d]
        d -= 1
    levels = [(box.size[k], strides[k]) for k in range(d + 1) if box.size[k] != 1]
    if not levels:
        return CopyPlan(offset, (), 1, run, run)
    rows, stride = levels.pop()
    return CopyPlan(offset, tuple(levels), rows, run, stride)
