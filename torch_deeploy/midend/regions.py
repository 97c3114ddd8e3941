"""Boxes in tensors and how an output tile maps to the input regions a node needs (tiling rules).

A tiling rule answers, for one node: which output dims may be split (and in steps of what), and for a
box of the output, which box of each input it reads and with which attributes the tile is itself a
valid instance of the op. That last property - op(tile inputs, tile attrs) == output[box] - is what
makes tiled execution correct, and tests check it against every op's numpy reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from torch_deeploy.ops.base import KernelNode


@dataclass(frozen=True)
class Box:
    """start and size per dim of a tensor region."""

    start: tuple[int, ...]
    size: tuple[int, ...]

    @staticmethod
    def whole(shape: Sequence[int]) -> Box:
        return Box((0,) * len(shape), tuple(int(s) for s in shape))

    @property
    def numel(self) -> int:
        return math.prod(self.size)

    def slices(self) -> tuple[slice, ...]:
        return tuple(slice(s, s + n) for s, n in zip(self.start, self.size, strict=True))

    def is_whole(self, shape: Sequence[int]) -> bool:
        return all(s == 0 for s in self.start) and tuple(self.size) == tuple(shape)


@dataclass(frozen=True)
class TileMap:
    """What one output tile needs: a box per input (None: omitted input) and the tile's attributes."""

    inputs: tuple[Box | None, ...]
    attrs: dict[str, Any]
    consts: dict[int, np.ndarray] | None = None  # new data for constant inputs that encode attributes


@dataclass(frozen=True)
class TilingRule:
    """Splittable dims of output 0 (dim -> step the tile size must be a multiple of, except the last tile)
    and the mapping from an output box to the input boxes."""

    split: dict[int, int]
    inputs_for: Callable[[KernelNode, Box], TileMap]


def whole_inputs(k: KernelNode) -> tuple[Box | None, ...]:
    return tuple(Box.whole(t.shape) if t is not None else None for t in k.inputs)


def untiled() -> Callable[[KernelNode], TilingRule]:
    """Ops that always run on whole tensors (their result cannot be cut cheaply)."""
    return lambda k: TilingRule({}, lambda k, box: TileMap(whole_inputs(k), dict(k.attrs)))


def project_broadcast(in_shape: Sequence[int], out_box: Box) -> Box:
    """Box of a numpy-broadcast input that feeds an output box (size-1 dims stay whole)."""
    rank = len(out_box.size)
    lead = rank - len(in_shape)
    start, size = [], []
    for d, s in enumerate(in_shape):
        od = d + lead
        if s == 1:
            start.append(0)
            size.append(1)
        else:
            start.append(out_box.start[od])
            size.append(out_box.size[od])
    return Box(tuple(start), tuple(size))


def elementwise(channel_params: Sequence[int] = (), force_channel: bool = False) -> Callable[[KernelNode], TilingRule]:
    """Every output dim splits; inputs follow numpy broadcasting. Inputs listed in channel_params use
    RequantShift's rule (per-channel vectors along axis 1 when numpy broadcasting does not apply, or
    always with force_channel, as for BatchNormalization's (C,) parameters)."""

    def rule(k: KernelNode) -> TilingRule:
        out = k.outputs[0]
        per_channel = {i for i, t in enumerate(k.inputs) if t is not None and i in channel_params
                       and (force_channel or not _numpy_broadcasts(t.shape, out.shape))}

        def inputs_for(k: KernelNode, box: Box) -> TileMap:
            boxes: list[Box | None] = []
            for i, t in enumerate(k.inputs):
                if t is None:
                    boxes.append(None)
                elif i in per_channel:
                    flat = int(np.prod(t.shape, dtype=np.int64))
                    if flat == 1:
                        boxes.append(Box.whole(t.shape))
                    else:  # per-channel on axis 1: the parameter is a vector of C (any shape of size C)
                        boxes.append(_channel_box(t.shape, box.start[1], box.size[1]))
                else:
                    boxes.append(project_broadcast(t.shape, box))
            return TileMap(tuple(boxes), dict(k.attrs))

        return TilingRule({d: 1 for d in range(len(out.shape))}, inputs_for)

    return rule


def _numpy_broadcasts(p: Sequence[int], x: Sequence[int]) -> bool:
    try:
        return np.broadcast_shapes(tuple(p), tuple(x)) == tuple(x)
    except ValueError:
        return False


def _channel_box(shape: Sequence[int], c0: int, cn: int) -> Box:
    """Box selecting channels [c0, c0+cn) of a parameter holding C values along its one non-unit dim."""
    dims = [d for d, s in enumerate(shape) if s != 1]
    if len(dims) != 1:
        raise ValueError(f"per-channel parameter of shape {list(shape)} is not a vector")
    start = [0] * len(shape)
    size = list(shape)
    start[dims[0]] = c0
    size[dims[0]] = cn
    return Box(tuple(start), tuple(size))


def rowwise(whole_axes_from_end: int = 1, params_on_last: Sequence[int] = ()) -> Callable[[KernelNode], TilingRule]:
    """Ops that reduce over the last axes (softmax, norms): those stay whole, leading dims split.
    Inputs in params_on_last are per-last-axis vectors (weights, biases): always whole."""

    def rule(k: KernelNode) -> TilingRule:
        out = k.outputs[0]
        rank = len(out.shape)

        def inputs_for(k: KernelNode, box: Box) -> TileMap:
            boxes: list[Box | None] = []
            for i, t in enumerate(k.inputs):
                if t is None:
                    boxes.append(None)
                elif i in params_on_last:
                    boxes.append(Box.whole(t.shape))
                else:
                    boxes.append(project_broadcast(t.shape, box))
            return TileMap(tuple(boxes), dict(k.attrs))

        return TilingRule({d: 1 for d in range(max(rank - whole_axes_from_end, 0))}, inputs_for)

    return rule


def reduction(axes_of: Callable[[KernelNode], Sequence[int]], keepdims_of: Callable[[KernelNode], bool]
              ) -> Callable[[KernelNode], TilingRule]:
    """Reductions over some axes of input 0: kept dims split, reduced dims are read whole."""

    def rule(k: KernelNode) -> TilingRule:
        x = k.inputs[0]
        assert x is not None
        axes = sorted(a % len(x.shape) for a in axes_of(k)) if len(x.shape) else []
        keep = keepdims_of(k)
        kept = [d for d in range(len(x.shape)) if d not in axes]
        out_rank = len(k.outputs[0].shape)

        def inputs_for(k: KernelNode, box: Box) -> TileMap:
            start, size = [0] * len(x.shape), list(x.shape)
            for j, d in enumerate(kept):
                od = d if keep else j
                start[d], size[d] = box.start[od], box.size[od]
            rest = tuple(Box.whole(t.shape) if t is not None else None for t in k.inputs[1:])
            return TileMap((Box(tuple(start), tuple(size)), *rest), dict(k.attrs))

        split = {(d if keep else j): 1 for j, d in enumerate(kept) if (d if keep else j) < out_rank}
        return TilingRule(split, inputs_for)

    return rule


def permuted(perm_of: Callable[[KernelNode], Sequence[int]]) -> Callable[[KernelNode], TilingRule]:
    """Transpose: output dim d reads input dim perm[d]; every output dim splits."""

    def rule(k: KernelNode) -> TilingRule:
        perm = list(perm_of(k))

        def inputs_for(k: KernelNode, box: Box) -> TileMap:
            start, size = [0] * len(perm), [0] * len(perm)
            for d, p in enumerate(perm):
                start[p], size[p] = box.start[d], box.size[d]
            return TileMap((Box(tuple(start), tuple(size)),), dict(k.attrs))

        return TilingRule({d: 1 for d in range(len(perm))}, inputs_for)

    return rule


def concatenation(axis_of: Callable[[KernelNode], int]) -> Callable[[KernelNode], TilingRule]:
    """Concat: every dim but the concatenation axis splits; each input is read whole along the axis."""

    def rule(k: KernelNode) -> TilingRule:
        axis = axis_of(k)
        rank = len(k.outputs[0].shape)

        def inputs_for(k: KernelNode, box: Box) -> TileMap:
            boxes = []
            for t in k.inputs:
                assert t is not None
                start, size = list(box.start), list(box.size)
                start[axis], size[axis] = 0, t.shape[axis]
                boxes.append(Box(tuple(start), tuple(size)))
            return TileMap(tuple(boxes), dict(k.attrs))

        return TilingRule({d: 1 for d in range(rank) if d != axis}, inputs_for)

    return rule


def from_axis(axis_of: Callable[[KernelNode], int]) -> Callable[[KernelNode], TilingRule]:
    """Ops normalising over all dims from `axis` on (LayerNormalization, Softmax): leading dims split."""

    def rule(k: KernelNode) -> TilingRule:
        rank = len(k.outputs[0].shape)
        return rowwise(whole_axes_from_end=rank - axis_of(k))(k)

    return rule


def window_span(o0: int, on: int, n_in: int, k: int, s: int, d: int, pb: int) -> tuple[int, int, int, int]:
    """Input range [a, b) that output positions [o0, o0+on) of a sliding window read, and the padding
    (before, after) the tile then needs so that it is itself a valid window op of `on` outputs."""
    keff = (k - 1) * d + 1
    need0 = o0 * s - pb
    need1 = (o0 + on - 1) * s - pb + keff if on else need0
    a = min(max(need0, 0), n_in)
    b = max(min(need1, n_in), a)
    return a, b, a - need0, need1 - b


def sliding_window(params: Callable[[KernelNode], tuple[tuple[int, ...], ...]], *, weights: bool) -> Callable[
        [KernelNode], TilingRule]:
    """Conv (weights=True: channels of a group move together, weight and bias boxes follow the output
    channels) and pooling (weights=False: channel c reads channel c). Spatial tiles read their halo and
    get their own begin/end padding, so a tile is an ordinary instance of the op."""

    def rule(k: KernelNode) -> TilingRule:
        x = k.inputs[0]
        assert x is not None
        kernel, strides, dil, pb, _pe = params(k)
        nsp = len(kernel)
        group = int(k.attrs.get("group", 1)) if weights else 1
        out_c = k.outputs[0].shape[1]
        per_group_out = out_c // group
        per_group_in = x.shape[1] // group

        def inputs_for(k: KernelNode, box: Box) -> TileMap:
            m0, mn = box.start[1], box.size[1]
            if weights and group > 1:
                c0, cn, tile_group = m0 // per_group_out * per_group_in, mn // per_group_out * per_group_in, \
                    max(mn // per_group_out, 1)
            elif weights:
                c0, cn, tile_group = 0, x.shape[1], 1
            else:
                c0, cn, tile_group = m0, mn, 1
            xs, xz, pads_b, pads_e = [box.start[0], c0], [box.size[0], cn], [], []
            for d in range(nsp):
                a, b, p0, p1 = window_span(box.start[2 + d], box.size[2 + d], x.shape[2 + d], kernel[d], strides[d],
                                           dil[d], pb[d])
                xs.append(a)
                xz.append(b - a)
                pads_b.append(p0)
                pads_e.append(p1)
            attrs = dict(k.attrs)
            attrs["pads"] = tuple(pads_b + pads_e)
            if "auto_pad" in attrs:
                attrs["auto_pad"] = "NOTSET"
            if "ceil_mode" in attrs:
                attrs["ceil_mode"] = 0  # the tile's own end padding already holds the partial last window
            boxes: list[Box | None] = [Box(tuple(xs), tuple(xz))]
            if weights:
                w = k.inputs[1]
                assert w is not None
                boxes.append(Box((m0,) + (0,) * (len(w.shape) - 1), (mn, *w.shape[1:])))
                for extra in k.inputs[2:]:  # bias, or a fused requantization's per-channel mul and add
                    boxes.append(Box((m0,), (mn,)) if extra is not None else None)
                attrs["group"] = tile_group
            return TileMap(tuple(boxes), attrs)

        split = {0: 1, 1: per_group_out if (weights and group > 1) else 1}
        if not k.attrs.get("ceil_mode"):  # ceil_mode pools keep whole rows: their last window is partial
            split.update({2 + d: 1 for d in range(nsp)})
        return TilingRule(split, inputs_for)

    return rule


def matmul_like() -> Callable[[KernelNode], TilingRule]:
    """MatMul with numpy batch broadcasting: batch dims, rows of A and columns of B split; K stays whole."""

    def rule(k: KernelNode) -> TilingRule:
        a, b = k.inputs[0], k.inputs[1]
        assert a is not None and b is not None
        out = k.outputs[0]
        if len(a.shape) < 2 or len(b.shape) < 2:
            return untiled()(k)
        rank = len(out.shape)

        def inputs_for(k: KernelNode, box: Box) -> TileMap:
            def operand(shape: tuple[int, ...], row_dim: int) -> Box:
                lead = rank - len(shape)
                start, size = [], []
                for d, s in enumerate(shape):
                    od = d + lead
                    if d < len(shape) - 2:  # batch dim
                        start.append(0 if s == 1 else box.start[od])
                        size.append(1 if s == 1 else box.size[od])
                    elif (d == len(shape) - 2 and row_dim == 0) or (d == len(shape) - 1 and row_dim == 1):
                        start.append(box.start[rank - 2 + row_dim])
                        size.append(box.size[rank - 2 + row_dim])
                    else:  # the reduced dim K
                        start.append(0)
                        size.append(s)
                return Box(tuple(start), tuple(size))

            return TileMap((operand(a.shape, 0), operand(b.shape, 1)), dict(k.attrs))

        return TilingRule({d: 1 for d in range(rank)}, inputs_for)

    return rule


def gemm_rule(k: KernelNode) -> TilingRule:
    """Gemm: rows of the output follow A (or A^T), columns follow B (or B^T); C is broadcast."""
    out = k.outputs[0]
    ta, tb = int(k.attrs.get("transA", 0)), int(k.attrs.get("transB", 0))

    def inputs_for(k: KernelNode, box: Box) -> TileMap:
        a, b = k.inputs[0], k.inputs[1]
        assert a is not None and b is not None
        (m0, n0), (mn, nn) = box.start, box.size
        kk = a.shape[0] if ta else a.shape[1]
        abox = Box((0, m0), (kk, mn)) if ta else Box((m0, 0), (mn, kk))
        bbox = Box((n0, 0), (nn, kk)) if tb else Box((0, n0), (kk, nn))
        boxes: list[Box | None] = [abox, bbox]
        for c in k.inputs[2:]:  # C, or the per-column requantization parameters of ChannelRequantizedGemm
            boxes.append(project_broadcast(c.shape, box) if c is not None else None)
        return TileMap(tuple(boxes), dict(k.attrs))

    return TilingRule({0: 1, 1: 1} if len(out.shape) == 2 else {}, inputs_for)
