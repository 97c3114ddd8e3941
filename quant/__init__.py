"""torch_deeploy.quant: quantize and integerize PyTorch models into the integer programs torch-deeploy deploys.

    qmodel = torch_deeploy.quant.quantize(model, calib_inputs)     # PTQ -> QuantizedModel
    qat = torch_deeploy.quant.prepare_qat(model, example)          # QAT (torchao PT2E fake-quant)
    qmodel = torch_deeploy.quant.convert(qat)

See quant/README.md for the integer model contract and the integerization rules.
"""

from torch_deeploy.quant.flow import convert, prepare, prepare_qat, qat_eval, qat_train, quantize
from torch_deeploy.quant.integerize import EdgeSpec, IntegerizeError, IntegerProgram, integerize
from torch_deeploy.quant.model import QuantizedModel
from torch_deeploy.quant.quantizer import DeeployFakeQuantize, DeeployQuantizer

__all__ = ["DeeployFakeQuantize", "DeeployQuantizer", "EdgeSpec", "IntegerProgram", "IntegerizeError",
           "QuantizedModel", "convert", "integerize", "prepare", "prepare_qat", "qat_eval", "qat_train", "quantize"]
