"""Inference engines behind one interface (`Engine.infer(nir NCHW float32) -> rgb NCHW`), picked
by URI: `onnx://x.onnx` (onnxruntime) or `trt://x.engine` (TensorRT FP16). The model card and
the TensorRT build helpers live here too so the viewer never needs `convert`."""
