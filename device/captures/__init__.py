"""The capture-set file format (manifest + 16-bit PNGs) that rigs write and `train` reads."""
from device.captures.format import FORMAT_VERSION
from device.captures.reader import CaptureSet
from device.captures.split import assign_split, split_counts
from device.captures.truth import PAPER_TRUTH_NM, paper_truth
from device.captures.writer import CaptureSetWriter

__all__ = ["FORMAT_VERSION", "PAPER_TRUTH_NM", "CaptureSet", "CaptureSetWriter",
           "assign_split", "paper_truth", "split_counts"]
