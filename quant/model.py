"""QuantizedModel: the integerized model, float in / float out, around an integer core that gets deployed.

Contract
--------
``qmodel.core`` is an ``fx.GraphModule`` of aten integer ops and ``torch.ops.deeploy.*`` on float32 tensors
holding integers (QuantLib style): integer inputs -> integer outputs. This is what the compiler deploys.
``qmodel(x)`` = ``qmodel.dequantize_outputs(qmodel.core(*qmodel.quantize_inputs(x)))``:

* ``quantize_inputs(*xs)``: ``q = clip(round(x / scale), lo, hi)`` per input (the model's first quantize node);
* ``dequantize_outputs(*qs)``: ``y = q * scale`` (per tensor, or per channel for an unrequantized accumulator).

``torch_deeploy.compile(qmodel, (x,))`` compiles ``qmodel.core`` with integer input types ``lo..hi``; the
returned DeployedModel applies the same edges, so ``deployed(x)`` equals ``qmodel(x)`` bit for bit, and
``deployed.run([q])`` gives the C's integer outputs, equal to ``qmodel.core(q)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from torch_deeploy.quant.integerize import EdgeSpec, IntegerProgram, edge_dequantize, edge_quantize


class QuantizedModel(torch.nn.Module):
    """An integerized model: ``core`` (integer program) with float<->integer conversion at the edges."""

    def __init__(self, program: IntegerProgram) -> None:
        super().__init__()
        self.core = program.core
        self.input_specs: list[EdgeSpec] = program.inputs
        self.output_specs: list[EdgeSpec] = program.outputs

    def quantize_inputs(self, *xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if len(xs) != len(self.input_specs):
            raise TypeError(f"the model takes {len(self.input_specs)} inputs, got {len(xs)}")
        return tuple(edge_quantize(x, s) for x, s in zip(xs, self.input_specs, strict=True))

    def dequantize_outputs(self, *qs: torch.Tensor) -> Any:
        ys = tuple(edge_dequantize(q, s) for q, s in zip(qs, self.output_specs, strict=True))
        return ys[0] if len(ys) == 1 else ys

    def forward(self, *xs: torch.Tensor) -> Any:
        out = self.core(*self.quantize_inputs(*xs))
        return self.dequantize_outputs(*(out if isinstance(out, tuple) else (out,)))

    # the protocol torch_deeploy.compile() uses to deploy the integer core
    def deeploy_edges(self) -> tuple[torch.nn.Module, Any, Any, list[tuple[int, int]]]:
        """(core, quantize_inputs, dequantize_outputs, integer range per input)."""
        return self.core, self.quantize_inputs, self.dequantize_outputs, [(s.lo, s.hi) for s in self.input_specs]


def example_integers(qmodel: QuantizedModel, examples: Sequence[Any]) -> tuple[torch.Tensor, ...]:
    return qmodel.quantize_inputs(*[torch.as_tensor(e) for e in examples])
