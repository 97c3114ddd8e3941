"""torch-deeploy: compile quantized PyTorch / integer ONNX models to bare-metal C for PULP microcontrollers."""

__version__ = "0.1.0"
