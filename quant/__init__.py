"""torch_deeploy.quant: quantization and integerization of PyTorch models (see issue on quant/)."""
