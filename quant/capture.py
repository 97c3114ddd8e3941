"""Integerization of a graph captured by torch.compile (dynamo) from a fake-quant (QAT) model.

``torch.compile(qat_model, backend="deeploy")`` hands the backend dynamo's graph, in which every
:class:`~torch_deeploy.quant.quantizer.DeeployFakeQuantize` is one ``deeploy_quant.fake_quant`` node and the
parameters, buffers and fake-quant parameters are graph inputs. :func:`integerize_captured` exports that
graph to aten ops, treats those inputs as constants and integerizes it exactly as :func:`convert` does a
prepared model, so the deployed program equals the integerized model bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.fx

from torch_deeploy.quant.integerize import integerize
from torch_deeploy.quant.model import QuantizedModel


def integerize_captured(gm: torch.fx.GraphModule, args: Sequence[Any], constant: Sequence[bool], *,
                        softmax: str = "isoftmax") -> QuantizedModel:
    """QuantizedModel of a dynamo graph: args are its example inputs, constant[i] marks parameters/buffers."""
    from torch.export.graph_signature import InputKind

    with torch.no_grad():
        ep = torch.export.export(gm, tuple(args))
    constants: dict[str, torch.Tensor] = {}
    k = 0
    for spec in ep.graph_signature.input_specs:
        name = spec.arg.name
        if spec.kind == InputKind.USER_INPUT:
            if constant[k]:
                constants[name] = args[k].detach()
            k += 1
        elif spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
            constants[name] = ep.state_dict[spec.target] if spec.target in ep.state_dict else ep.constants[spec.target]
        else:
            constants[name] = ep.constants[spec.target]
    return QuantizedModel(integerize(ep.graph_module, constants, softmax=softmax))
