"""Colour photographs that ship inside scikit-image's wheel, read straight from its data folder.

Only files present in the installed wheel are listed (not those `skimage.data` downloads with
pooch), and they are read with OpenCV from the package folder, so nothing touches the network
and scikit-image itself is not even imported.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from device.common.errors import UserError

# name -> file in skimage/data/; all RGB photographs or colour artwork (grey ones left out:
# a grey print exercises little of the ink model).
BUNDLED_PHOTOS = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "motorcycle": "motorcycle_left.png",
    "ihc": "ihc.png",
    "retina": "retina.jpg",
    "colorwheel": "color.png",
    "hubble": "hubble_deep_field.jpg",
}

# Reserved for testing: never printed as training content by `device capture` (only with
# --held-out), and the demo's default print is the first of them, so what a new user sees
# first is a picture the shipped model never trained on. Three everyday photographs of
# different kinds: a person (skin, fabric), food (browns, cream, a blue-grey table) and a
# saturated object (a red motorcycle against a grey studio).
HELD_OUT_PHOTOS = ("astronaut", "coffee", "motorcycle")
TRAINING_PHOTOS = tuple(name for name in BUNDLED_PHOTOS if name not in HELD_OUT_PHOTOS)


def _skimage_data_dir() -> Path:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("scikit-image is not installed, so there are no bundled photos; "
                        "install it or pass --prints DIR.")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_bundled_photo(name: str) -> np.ndarray:
    """The photo `name` of BUNDLED_PHOTOS as an HxWx3 uint8 RGB array."""
    path = _skimage_data_dir() / BUNDLED_PHOTOS[name]
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UserError(f"{path}: bundled photo is missing or unreadable; reinstall "
                        "scikit-image or pass --prints DIR.")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
