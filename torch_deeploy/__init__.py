"""torch-deeploy: compile quantized PyTorch / integer ONNX models to bare-metal C for PULP microcontrollers."""

import sys as _sys

from torch_deeploy.api import DeployedModel, compile, load

__version__ = "0.1.0"
__all__ = ["DeployedModel", "compile", "load"]

if "torch" in _sys.modules:  # register torch.ops.deeploy.* when torch is in use (torch stays optional)
    import torch_deeploy.torch_ops  # noqa: F401
