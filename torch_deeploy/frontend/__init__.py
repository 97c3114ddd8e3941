"""Frontends: ONNX (QuantLib dialect) and torch.export / FX graphs into the IR."""
