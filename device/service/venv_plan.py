"""What pip installs into the viewer's venv on a Jetson, given what the system already has.

install.sh creates the venv with `--system-site-packages` and runs this with the venv's Python
*before* the project is installed, so it imports nothing but the standard library. The system
packages are what the hardware libraries are built against, and the projects that wrap them
ship that way:
- jetson-utils/jetson-inference build their Python bindings against the system Python and
  NumPy and install them into /usr/lib/pythonX.Y/dist-packages on aarch64 (dusty-nv/jetson-utils
  python/bindings/CMakeLists.txt; jetson-inference docs/building-repo-2.md), not from PyPI;
- picamera2 is apt's python3-picamera2 (depending on python3-libcamera, python3-kms++,
  python3-numpy), and Raspberry Pi's advice for a venv is `python3 -m venv
  --system-site-packages` on top of the apt packages, as OpenCV is much easier apt-installed
  than pip-installed there (github.com/raspberrypi/pylibcamera README);
- PyPI's aarch64 CUDA wheels target server ARM (sbsa), not Jetson's L4T (bitsandbytes PR #1941),
  and onnxruntime's Jetson GPU builds are published through the Jetson Zoo, not PyPI
  (microsoft/onnxruntime issue #20503). So CUDA bindings come from the system where present
  (pycuda only on request: it compiles), and PyPI's CPU onnxruntime only fills a gap.

Prints the pip requirements, one per line, and writes pip constraints to `--constraints`:
- the project with its `jetson` extra: no torch, no PyPI OpenCV, nothing compiled;
- PyPI's opencv-python-headless only where the system has no OpenCV at all (its build has no
  GStreamer, so csi://, gst:// and drm:// are then refused with a sentence);
- PyPI's onnxruntime (CPU; the viewer's fallback when TensorRT cannot load) only where no
  onnxruntime is importable: NVIDIA's GPU builds for Jetson come from its own wheel index, not
  PyPI, and one installed system-wide must not be shadowed;
- `numpy<2` where the system numpy is 1.x: the system OpenCV is compiled against it, and a
  module compiled against NumPy 1.x cannot be imported under NumPy 2.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import sys


def requirements(repo: str, extras: tuple[str, ...] = ("jetson",)) -> tuple[list[str], list[str]]:
    """(requirements, constraints) for this interpreter's view of the system."""
    reqs = [f"{repo}[{','.join(extras)}]"]
    constraints = []
    has_cv2 = importlib.util.find_spec("cv2") is not None
    if not has_cv2:
        reqs.append("opencv-python-headless>=4.8")
    if importlib.util.find_spec("onnxruntime") is None:
        reqs.append("onnxruntime>=1.17")
    try:
        numpy_major = int(importlib.metadata.version("numpy").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        numpy_major = None
    if has_cv2 and numpy_major == 1:
        constraints.append("numpy<2")
    return reqs, constraints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m device.service.venv_plan",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repo", required=True, help="the nightcolor source tree to install")
    parser.add_argument("--constraints", required=True, help="file to write pip constraints to")
    args = parser.parse_args(argv)
    reqs, constraints = requirements(args.repo)
    with open(args.constraints, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in constraints))
    print("\n".join(reqs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
