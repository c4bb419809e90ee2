"""Artwork to print on the simulated rig: the user's images, or content that installs with the
dependencies (photos in scikit-image's wheel; generated dead leaves, smooth fields, foliage,
skies, faces and colour charts)."""
from device.content.prints import iter_prints

__all__ = ["iter_prints"]
