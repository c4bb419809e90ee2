"""The engine role's backends: `engine.uri` scheme -> factory(uri, card, resolve, status)."""
from device.common.backends import Backends

ENGINES = Backends("engine.uri", {
    "onnx": "device.engines.engine:open_onnx_engine",
    "trt": "device.engines.engine:open_trt_engine",   # falls back to the card's ONNX
})
