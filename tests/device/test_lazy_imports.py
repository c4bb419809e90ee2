"""Importing any module of `device` loads numpy and OpenCV only: TensorRT, pycuda, GPIO,
onnxruntime, torch, scikit-image, colour-science... are imported inside the functions that
use them, so the viewer starts on a Jetson without the training stack and fails only where a
missing library is really needed. (Which module may import which is lint-imports' job.)"""
import subprocess
import sys

PROBE = """
import importlib, pkgutil, sys
import device
before = {m.split('.')[0] for m in sys.modules}
for info in pkgutil.walk_packages(device.__path__, 'device.'):
    if not info.name.endswith('__main__'):      # __main__ runs the command line
        importlib.import_module(info.name)
# '__mp_main__' is the standard library's alias of __main__, set when multiprocessing loads.
new = ({m.split('.')[0] for m in sys.modules} - before - set(sys.stdlib_module_names)
       - {'__mp_main__'})
print(' '.join(sorted(new)))
"""


def test_every_device_module_imports_with_numpy_and_opencv_only():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True).stdout.split()
    assert set(out) <= {"numpy", "cv2"}, f"imported at module level: {out}"
