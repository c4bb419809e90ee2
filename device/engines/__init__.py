"""Inference engines behind one interface (`Engine.run(feeds) -> outputs`, resident inputs set
once with `Engine.set_resident`), picked by URI: `onnx://x.onnx` (onnxruntime) or
`trt://x.engine` (TensorRT FP16); the viewer runs the model card's viewer graph through them
(inputs and output in `viewer_io`). The model card and the TensorRT build helpers live here too
so the viewer never needs `convert`."""
