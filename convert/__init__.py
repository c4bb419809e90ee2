"""Checkpoint -> ONNX (FP32 and FP16) -> TensorRT engine, each step verified for parity."""
