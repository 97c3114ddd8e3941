"""The user-facing flows: one-call PTQ (:func:`quantize`) and QAT (:func:`prepare_qat`, train, :func:`convert`).

PTQ::

    qmodel = torch_deeploy.quant.quantize(model, calib_inputs)     # QuantizedModel, integer ops inside

QAT::

    qat = torch_deeploy.quant.prepare_qat(model, example_inputs)   # fake-quant GraphModule (torchao PT2E)
    ...train qat as usual (qat_train(qat) / qat_eval(qat) switch BN and observers)...
    qmodel = torch_deeploy.quant.convert(qat)                      # QuantizedModel
    fast = torch.compile(qat, backend="deeploy")                   # deploys convert(qat) and runs the C

Both go through torchao's ``prepare_pt2e`` / ``prepare_qat_pt2e`` / ``convert_pt2e`` with
:class:`DeeployQuantizer`, then :func:`torch_deeploy.quant.integerize.integerize`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import torch
import torch.fx
from torchao.quantization.pt2e import (
    disable_observer,
    enable_observer,
    move_exported_model_to_eval,
    move_exported_model_to_train,
)
from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e, prepare_qat_pt2e

from torch_deeploy.quant.integerize import integerize
from torch_deeploy.quant.model import QuantizedModel
from torch_deeploy.quant.quantizer import DeeployFakeQuantize, DeeployQuantizer

EXAMPLE_KEY = "torch_deeploy_example_inputs"  # GraphModule.meta key: prepare_qat's example (convert re-exports)


def _args(item: Any) -> tuple[Any, ...]:
    return tuple(item) if isinstance(item, tuple | list) else (item,)


def _export(model: torch.nn.Module, example: tuple[Any, ...]) -> torch.fx.GraphModule:
    """torch.export with the batch dimension dynamic where the model allows it (Dim.AUTO), so calibration,
    training and evaluation may use other batch sizes than the example."""
    dims = tuple({0: torch.export.Dim.AUTO} if isinstance(a, torch.Tensor) and a.dim() > 0 else None for a in example)
    return torch.export.export(model, example, dynamic_shapes=dims).module()


def prepare(model: torch.nn.Module, example_inputs: Any, quantizer: DeeployQuantizer | None = None
            ) -> torch.fx.GraphModule:
    """Export an eval-mode model and insert observers (PTQ); feed calibration data, then :func:`convert`."""
    model = model.eval()
    return prepare_pt2e(_export(model, _args(example_inputs)), quantizer or DeeployQuantizer())


def prepare_qat(model: torch.nn.Module, example_inputs: Any, quantizer: DeeployQuantizer | None = None
                ) -> torch.fx.GraphModule:
    """Export a train-mode model and insert fake-quantizers (QAT, BN kept and folded at convert)."""
    quantizer = quantizer or DeeployQuantizer(qat=True)
    if not quantizer.qat:
        raise ValueError("prepare_qat needs DeeployQuantizer(qat=True)")
    model = model.train()
    example = _args(example_inputs)
    prepared = prepare_qat_pt2e(_export(model, example), quantizer)
    prepared.meta[EXAMPLE_KEY] = tuple(a.detach().clone() if isinstance(a, torch.Tensor) else a for a in example)
    return prepared


def qat_train(model: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Training mode of a prepared QAT model (BN batch statistics, observers update the scales)."""
    move_exported_model_to_train(model)
    model.apply(enable_observer)
    return model


def qat_eval(model: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Evaluation mode of a prepared QAT model (BN running statistics, scales frozen): evaluating it, or
    torch.compile(model, backend="deeploy"), then leaves its quantization parameters unchanged."""
    move_exported_model_to_eval(model)
    model.apply(disable_observer)
    return model


def convert(prepared: torch.fx.GraphModule, *, softmax: str = "isoftmax", inplace: bool = False) -> QuantizedModel:
    """Prepared (calibrated or QAT-trained) model -> integerized QuantizedModel. The prepared model is kept
    unless inplace (torchao's convert rewrites its argument).

    A QAT model (DeeployFakeQuantize) is integerized from its fake-quant graph, exactly as
    torch.compile(qat_model, backend="deeploy") does, so both give the same integers; a PTQ model through
    torchao's convert_pt2e (q/dq form)."""
    if any(isinstance(m, DeeployFakeQuantize) for m in prepared.modules()):
        qat_eval(prepared)
        if EXAMPLE_KEY not in prepared.meta:
            raise ValueError("this QAT model was not prepared by torch_deeploy.quant.prepare_qat()")
        with torch.no_grad():
            gm = _export(prepared, prepared.meta[EXAMPLE_KEY])
        return QuantizedModel(integerize(gm, softmax=softmax))
    gm = prepared if inplace else copy.deepcopy(prepared)
    move_exported_model_to_eval(gm)
    with torch.no_grad():
        converted = convert_pt2e(gm)
    return QuantizedModel(integerize(converted, softmax=softmax))


def quantize(model: torch.nn.Module, calib_inputs: Iterable[Any], *, per_channel: bool = True,
             histogram: bool = False, softmax: str = "isoftmax") -> QuantizedModel:
    """Post-training quantization in one call: calib_inputs is an iterable whose items are the model's
    positional input(s) (a tensor or a tuple of tensors); the first item also serves as export example."""
    it = iter(calib_inputs)
    first = next(it, None)
    if first is None:
        raise ValueError("quantize needs at least one calibration input")
    prepared = prepare(model, first, DeeployQuantizer(per_channel=per_channel, histogram=histogram))
    with torch.no_grad():
        prepared(*_args(first))
        for item in it:
            prepared(*_args(item))
    return convert(prepared, softmax=softmax, inplace=True)
