"""The paper's ground truth (`paper` mode) from a scene's own captures: the 604, 529 and
447 nm frames, each normalised to its white reference, merged as R, G and B (docs/paper.md, "Facts
from the paper"). Every writer of it (an import, the real rig, the simulator) makes it here."""
from __future__ import annotations

import numpy as np

from device.captures.references import normalise

PAPER_TRUTH_NM = (604, 529, 447)   # R, G, B


def paper_truth(raws: dict, dark: np.ndarray, whites: dict) -> np.ndarray:
    """HxWx3 float32 sRGB in [0, 1] from raw captures {nm: uint16 HxW} and the references."""
    planes = [normalise(raws[nm], dark, whites[nm]) for nm in PAPER_TRUTH_NM]
    return np.clip(np.stack(planes, axis=-1), 0.0, 1.0)
