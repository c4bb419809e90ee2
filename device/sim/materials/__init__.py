"""Surfaces beside the printer: skin, leaves and dyed cloth, each a published spectral model with
a prior over its parameters (`FAMILIES`), and `MaterialScene`, a picture made of them under the
simulated rig with the contract of `PrintedScene`.

- `ink`: the printer, Yule–Nielsen spectral Neugebauer (`device.sim.printing`), the sim's inks;
- `skin`: epidermis (melanin) over dermis (blood, water), diffusion theory (`skin.py`):
  Jacques' closed forms, Prahl's haemoglobin table (BSD-3, via MNE-Python, in `data/`);
- `leaf`: PROSPECT-D (`leaf.py`): Féret et al. 2017's constants (MIT, the authors' R package,
  in `data/`);
- `cloth`: fibre × dye transmission with NIR-dark colorants (`cloth.py`): this project's dye
  bands.

Why not the PyPI packages the issue named: `prosail` (PROSPECT-D's coefficients) states no licence
in its metadata and its repository is GPL-3.0; `skinoptics` is GPL-3.0. Copyleft code may only be
an optional extra here, and neither is needed: the leaf constants come from the model's authors'
own MIT-licensed distribution and the haemoglobin table from MNE-Python's BSD-3 one; the models
are short numpy implementations of the published equations.
"""
from device.sim.materials.cloth import CLOTH
from device.sim.materials.family import Family, daylight_lab
from device.sim.materials.ink import INK
from device.sim.materials.leaf import LEAF
from device.sim.materials.skin import SKIN

FAMILIES: dict[str, Family] = {f.name: f for f in (INK, SKIN, LEAF, CLOTH)}
# the code of each family in a capture set's material maps (`materials.png`)
FAMILY_CODES = {name: code for code, name in enumerate(FAMILIES)}

__all__ = ["CLOTH", "FAMILIES", "FAMILY_CODES", "Family", "INK", "LEAF", "SKIN", "daylight_lab"]
