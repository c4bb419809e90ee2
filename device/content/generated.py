"""Print artwork generated from a random generator: smooth gradients, skin-toned faces and
saturated colour charts. Each maker takes (rng, size) and returns an HxWx3 uint8 sRGB image;
the same generator state always draws the same picture.

They cover what the bundled photos cover poorly: slow colour ramps (where a model's banding
shows), the skin tones of the paper's face dataset, and saturated patches at the edge of what
CMYK ink can print.
"""
from __future__ import annotations

import colorsys

import cv2
import numpy as np

# Monk Skin Tone scale (Google, 2022; 10 swatches from lightest to darkest), sRGB.
SKIN_TONES = ((246, 237, 228), (243, 231, 219), (247, 234, 208), (234, 218, 186),
              (215, 189, 150), (160, 126, 86), (130, 92, 67), (96, 65, 52),
              (58, 49, 42), (41, 36, 32))
HAIR_COLOURS = ((20, 16, 14), (60, 40, 28), (110, 75, 45), (180, 140, 90), (200, 190, 180),
                (120, 50, 30))
# X-Rite ColorChecker Classic, 24 patches in chart order, sRGB (D65) values.
COLORCHECKER = ((115, 82, 68), (194, 150, 130), (98, 122, 157), (87, 108, 67), (133, 128, 177),
                (103, 189, 170), (214, 126, 44), (80, 91, 166), (193, 90, 99), (94, 60, 108),
                (157, 188, 64), (224, 163, 46), (56, 61, 150), (70, 148, 73), (175, 54, 60),
                (231, 199, 31), (187, 86, 149), (8, 133, 161), (243, 243, 242), (200, 200, 200),
                (160, 160, 160), (122, 122, 121), (85, 85, 85), (52, 52, 52))


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1]."""
    c = (np.arange(size, dtype=np.float32) + 0.5) / size
    return np.meshgrid(c, c)


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), dtype=np.float32)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


def _gradient_field(rng: np.random.Generator, size: int) -> np.ndarray:
    """Float HxWx3 in [0, 1]: a linear ramp between two colours, warmed by a radial third."""
    x, y = _grid(size)
    angle = rng.uniform(0, 2 * np.pi)
    t = (x - 0.5) * np.cos(angle) + (y - 0.5) * np.sin(angle)
    t = (t - t.min()) / (np.ptp(t) + 1e-6)
    t = t * t * (3 - 2 * t)  # smoothstep: no kink where the ramp meets its ends
    c0, c1, c2 = (_hsv(rng.random(), rng.uniform(0.2, 1.0), rng.uniform(0.3, 1.0))
                  for _ in range(3))
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    cx, cy, radius = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.3, 0.9)
    w = np.clip(1 - ((x - cx) ** 2 + (y - cy) ** 2) / radius ** 2, 0, 1)[..., None]
    return img * (1 - 0.6 * w) + c2 * 0.6 * w


def gradient(rng: np.random.Generator, size: int) -> np.ndarray:
    return _to_uint8(_gradient_field(rng, size))


def _ellipse_r2(size, cx, cy, a, b, angle=0.0) -> np.ndarray:
    """Normalised squared radius of an ellipse: < 1 inside, 1 on its edge."""
    x, y = _grid(size)
    ca, sa = np.cos(angle), np.sin(angle)
    u, v = (x - cx) * ca + (y - cy) * sa, -(x - cx) * sa + (y - cy) * ca
    return (u / a) ** 2 + (v / b) ** 2


def _paint(img, r2, colour, size, edge_px=1.5):
    """Blend `colour` (RGB float or HxWx3) inside the ellipse with an anti-aliased edge."""
    alpha = np.clip((1 - r2) * size * 0.05 / edge_px, 0, 1)[..., None]
    img *= 1 - alpha
    img += alpha * colour


def skin_faces(rng: np.random.Generator, size: int) -> np.ndarray:
    """One to three face-like figures (hair, shaded skin, eyes, lips, clothes) on a gradient."""
    img = _gradient_field(rng, size) * rng.uniform(0.5, 1.0)
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = rng.uniform(0.25, 0.75), rng.uniform(0.3, 0.6)
        a = rng.uniform(0.12, 0.25)
        b, tilt = a * rng.uniform(1.2, 1.45), rng.uniform(-0.25, 0.25)
        skin = np.array(SKIN_TONES[rng.integers(len(SKIN_TONES))], np.float32) / 255
        skin = np.clip(skin * rng.uniform(0.9, 1.1, 3), 0, 1)
        shirt = _hsv(rng.random(), rng.uniform(0.1, 0.9), rng.uniform(0.2, 0.9))
        _paint(img, _ellipse_r2(size, cx, cy + 2.3 * b, 2.2 * a, 1.3 * b), shirt, size)
        _paint(img, _ellipse_r2(size, cx, cy + 1.1 * b, 0.45 * a, 0.6 * b), skin * 0.85, size)
        hair = np.array(HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], np.float32) / 255
        _paint(img, _ellipse_r2(size, cx, cy - 0.12 * b, 1.12 * a, 1.05 * b, tilt), hair, size)
        face_r2 = _ellipse_r2(size, cx, cy + 0.08 * b, a, b, tilt)
        shade = (1 - 0.3 * np.clip(face_r2, 0, 1))[..., None]  # round faces darken to the rim
        _paint(img, face_r2, skin * shade, size)
        ex, ey = np.cos(tilt), np.sin(tilt)
        for side in (-1, 1):  # eyes: white, iris, and a cheek flush beneath each
            px, py = cx + side * 0.4 * a * ex, cy - 0.05 * b + side * 0.4 * a * ey
            _paint(img, _ellipse_r2(size, px, py + 0.35 * b, 0.22 * a, 0.15 * b),
                   np.clip(skin * np.array([1.08, 0.9, 0.9], np.float32), 0, 1), size, 4)
            _paint(img, _ellipse_r2(size, px, py, 0.2 * a, 0.09 * b, tilt),
                   np.array([0.93, 0.92, 0.9], np.float32), size)
            _paint(img, _ellipse_r2(size, px, py, 0.08 * a, 0.08 * a), hair * 0.8, size)
        lips = np.clip(skin * np.array([0.95, 0.55, 0.55], np.float32) + [0.1, 0, 0], 0, 1)
        _paint(img, _ellipse_r2(size, cx - 0.45 * b * ey, cy + 0.45 * b * ex, 0.3 * a,
                                0.07 * b, tilt), lips, size)
    sigma = max(0.5, size / 256)  # printed ink spreads a little; no razor-sharp drawing edges
    return _to_uint8(cv2.GaussianBlur(img, (0, 0), sigma))


def colour_chart(rng: np.random.Generator, size: int) -> np.ndarray:
    """A ColorChecker (shuffled half of the time) or a grid of saturated, random-hue patches."""
    if rng.random() < 0.5:
        rows, cols = 4, 6
        order = np.arange(24) if rng.random() < 0.5 else rng.permutation(24)
        colours = [np.array(COLORCHECKER[i], np.float32) / 255 for i in order]
        background = np.full(3, 0.1, np.float32)
    else:
        rows, cols = (int(v) for v in rng.integers(3, 9, size=2))
        hues = rng.permutation(rows * cols) / (rows * cols) + rng.random()
        colours = [_hsv(h, rng.uniform(0.7, 1.0), rng.uniform(0.55, 1.0)) for h in hues]
        background = _hsv(rng.random(), rng.uniform(0, 0.3), rng.uniform(0.05, 0.95))
    img = np.empty((size, size, 3), np.float32)
    img[:] = background
    gap = rng.uniform(0.1, 0.3)
    ph, pw = size / rows, size / cols
    for k, colour in enumerate(colours):
        r, c = divmod(k, cols)
        y0, x0 = int(round((r + gap / 2) * ph)), int(round((c + gap / 2) * pw))
        y1, x1 = int(round((r + 1 - gap / 2) * ph)), int(round((c + 1 - gap / 2) * pw))
        img[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)] = colour
    return _to_uint8(img)


GENERATORS = {"skin": skin_faces, "chart": colour_chart, "gradient": gradient}
