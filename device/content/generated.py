"""Print artwork generated from a random generator: dead-leaves textures, smooth fields,
foliage, skies, skin-toned faces and colour charts. Each maker takes (rng, size) and returns an
HxWx3 uint8 sRGB image; the same generator state always draws the same picture.

They are the training content that teaches the physics rather than particular pictures:
dead leaves (the ISO 19567-2 texture model: opaque discs with power-law radii) put every
colour next to every other at every scale, with colours drawn either to fill the gamut or to
follow natural-photo statistics; smooth fields give slow ramps (where a model's banding shows);
foliage and sky give the textures of outdoor photos; faces span the skin tones of the paper's
face dataset with varied clothes and backgrounds; charts hold saturated patches at the edge of
what CMYK ink can print; clothes pile up plain, striped and checked garments. Faces, foliage and
clothes can also say what they painted where (`painted`, `leaves`), which is how
`device.content.surfaces` turns them into scenes made of skin, leaves and cloth.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Painted:
    """One shape painted into a picture, for scenes made of materials: where it shows
    (`alpha`, HxW), which surface family it is ("skin", "cloth", or "print" for what stays
    ink: hair, eyes), the colour it was painted (RGB, or HxWx3 for a pattern) and the shade
    that colour was dimmed by (a number or HxWx1)."""
    alpha: np.ndarray
    family: str
    colour: np.ndarray
    shade: np.ndarray | float = 1.0


def _paint(img, r2, colour, size, edge_px=1.5, family="print", shade=1.0, painted=None):
    """Blend `colour` × `shade` (RGB float or HxWx3) inside the ellipse with an anti-aliased
    edge; with a list `painted`, also record what was painted there (`Painted`)."""
    alpha = np.clip((1 - r2) * size * 0.05 / edge_px, 0, 1)[..., None]
    img *= 1 - alpha
    img += alpha * (colour * shade if not np.isscalar(shade) or shade != 1.0 else colour)
    if painted is not None:
        painted.append(Painted(alpha[..., 0], family, np.asarray(colour), shade))


def _clothes(rng: np.random.Generator, size: int) -> np.ndarray:
    """A plain colour, or stripes / checks of two colours, as HxWx3 float."""
    a, b = natural_colours(rng, 1)[0], gamut_colours(rng, 1)[0]
    if rng.random() < 0.5:
        return np.broadcast_to(a if rng.random() < 0.5 else b, (size, size, 3)).copy()
    x, y = _grid(size)
    period = rng.uniform(0.02, 0.08)
    stripes = (np.floor(x / period) % 2 if rng.random() < 0.5
               else (np.floor(x / period) + np.floor(y / period)) % 2)[..., None]
    return a * stripes + b * (1 - stripes)


BACKGROUNDS = ("gradient", "deadleaves", "foliage", "sky", "smooth")


def skin_faces(rng: np.random.Generator, size: int, painted: list | None = None) -> np.ndarray:
    """One to three face-like figures (hair, shaded skin, eyes, lips, plain or striped clothes)
    on a varied background: a gradient, dead leaves, foliage, sky or a smooth field. With a list
    `painted`, the background (family "print", alpha 1) and every shape are recorded in it
    (`Painted`), the last entry being the finished picture before the print's blur."""
    background = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    img = (_gradient_field(rng, size) if background == "gradient"
           else GENERATORS[background](rng, size).astype(np.float32) / 255)
    img = img * rng.uniform(0.5, 1.0)
    if painted is not None:
        painted.append(Painted(np.ones((size, size), np.float32), "print", img.copy()))
    for _ in range(int(rng.integers(1, 4))):
        cx, cy = rng.uniform(0.25, 0.75), rng.uniform(0.3, 0.6)
        a = rng.uniform(0.12, 0.25)
        b, tilt = a * rng.uniform(1.2, 1.45), rng.uniform(-0.25, 0.25)
        skin = np.array(SKIN_TONES[rng.integers(len(SKIN_TONES))], np.float32) / 255
        skin = np.clip(skin * rng.uniform(0.9, 1.1, 3), 0, 1)
        shirt = _clothes(rng, size)
        _paint(img, _ellipse_r2(size, cx, cy + 2.3 * b, 2.2 * a, 1.3 * b), shirt, size,
               family="cloth", painted=painted)
        _paint(img, _ellipse_r2(size, cx, cy + 1.1 * b, 0.45 * a, 0.6 * b), skin, size,
               family="skin", shade=0.85, painted=painted)
        hair = np.array(HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))], np.float32) / 255
        _paint(img, _ellipse_r2(size, cx, cy - 0.12 * b, 1.12 * a, 1.05 * b, tilt), hair, size,
               painted=painted)
        face_r2 = _ellipse_r2(size, cx, cy + 0.08 * b, a, b, tilt)
        shade = (1 - 0.3 * np.clip(face_r2, 0, 1))[..., None]  # round faces darken to the rim
        _paint(img, face_r2, skin, size, family="skin", shade=shade, painted=painted)
        ex, ey = np.cos(tilt), np.sin(tilt)
        for side in (-1, 1):  # eyes: white, iris, and a cheek flush beneath each
            px, py = cx + side * 0.4 * a * ex, cy - 0.05 * b + side * 0.4 * a * ey
            _paint(img, _ellipse_r2(size, px, py + 0.35 * b, 0.22 * a, 0.15 * b),
                   np.clip(skin * np.array([1.08, 0.9, 0.9], np.float32), 0, 1), size, 4,
                   family="skin", painted=painted)
            _paint(img, _ellipse_r2(size, px, py, 0.2 * a, 0.09 * b, tilt),
                   np.array([0.93, 0.92, 0.9], np.float32), size, painted=painted)
            _paint(img, _ellipse_r2(size, px, py, 0.08 * a, 0.08 * a), hair * 0.8, size,
                   painted=painted)
        lips = np.clip(skin * np.array([0.95, 0.55, 0.55], np.float32) + [0.1, 0, 0], 0, 1)
        _paint(img, _ellipse_r2(size, cx - 0.45 * b * ey, cy + 0.45 * b * ex, 0.3 * a,
                                0.07 * b, tilt), lips, size, family="skin", painted=painted)
    if painted is not None:
        painted.append(Painted(np.zeros((size, size), np.float32), "print", img.copy()))
    return _print_blur_float(img, size)


def _print_blur_float(img: np.ndarray, size: int) -> np.ndarray:
    sigma = print_blur_sigma(size)  # printed ink spreads a little; no razor-sharp drawing edges
    return _to_uint8(cv2.GaussianBlur(img, (0, 0), sigma))


def clothes(rng: np.random.Generator, size: int, painted: list | None = None) -> np.ndarray:
    """A pile of garments: a plain, striped or checked cloth under two to five more, each
    shirt-shaped and creased (a low-frequency shade), as on a rack or a crowd's shoulders.
    With a list `painted`, every cloth is recorded (`Painted`, family "cloth"), the last entry
    being the finished picture before the print's blur."""
    img = _clothes(rng, size)
    if painted is not None:
        painted.append(Painted(np.ones((size, size), np.float32), "cloth", img.copy()))
    for _ in range(int(rng.integers(2, 6))):
        cx, cy = rng.uniform(0.1, 0.9, 2)
        a, b, tilt = rng.uniform(0.15, 0.4), rng.uniform(0.15, 0.4), rng.uniform(-0.5, 0.5)
        creases = 0.7 + 0.3 * _low_frequency(rng, size, 4, 1)
        _paint(img, _ellipse_r2(size, cx, cy, a, b, tilt), _clothes(rng, size), size,
               family="cloth", shade=creases, painted=painted)
    if painted is not None:
        painted.append(Painted(np.zeros((size, size), np.float32), "print", img.copy()))
    return _print_blur_float(img, size)


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


# --- colour distributions -------------------------------------------------------------------

def _lab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) -> sRGB in [0, 1], unclipped, so out-of-gamut colours can be told apart."""
    import colour

    return colour.XYZ_to_sRGB(colour.Lab_to_XYZ(lab))


def _in_gamut_lab(rng: np.random.Generator, n: int, draw) -> np.ndarray:
    """`n` sRGB colours from `draw(rng, m) -> m x 3 Lab`, keeping those inside the sRGB gamut
    (rejection sampling, so the distribution is `draw`'s restricted to the gamut)."""
    kept, have = [], 0
    while have < n:
        rgb = _lab_to_srgb(draw(rng, 2 * (n - have) + 16))
        rgb = rgb[np.all((rgb >= 0.0) & (rgb <= 1.0), axis=1)]
        kept.append(rgb)
        have += len(rgb)
    return np.concatenate(kept)[:n].astype(np.float32)


def _uniform_lab(rng: np.random.Generator, m: int) -> np.ndarray:
    return np.stack([rng.uniform(0, 100, m), rng.uniform(-100, 100, m),
                     rng.uniform(-110, 100, m)], axis=1)


# Natural-photo colour statistics. Colours of natural scenes spread mostly along the blue-yellow
# ("daylight") axis, with warm yellows, oranges and browns the commonest hues (Webster & Mollon,
# "Adaptation and the color statistics of natural images", Vision Res. 1997; Ruderman, Cronin &
# Chiao, J. Opt. Soc. Am. A 1998). That matters here more than anywhere: the inks' NIR curves
# hide the yellow component (orange and pink read almost alike), so what the network has seen
# most often decides which it paints. The numbers below are this project's assumption, not a
# published fit: a warm mode at CIELAB hue 65 deg (orange-yellow), a blue mode at 260 deg,
# the rest uniform; chroma half dull (exponential, mean 20) and half vivid (uniform to 110),
# lightness mid-range. Against the hue-uniform, dull version it replaced, this prior lowers the
# per-pixel Bayes floor of 12 crops of the bundled non-held-out photos from 15.0 to 13.3 ΔE00
# (uniform sRGB prior: 14.4); see tests/device/captures/test_content.py for the shape it must keep.
NATURAL_HUE_MODES = ((65.0, 2.5, 0.5), (260.0, 4.0, 0.2))   # (hue deg, von Mises kappa, share)
NATURAL_VIVID_SHARE = 0.5


def _natural_lab(rng: np.random.Generator, m: int) -> np.ndarray:
    lightness = np.clip(rng.normal(55, 22, m), 2, 98)
    chroma = np.where(rng.random(m) < NATURAL_VIVID_SHARE, rng.uniform(0, 110, m),
                      rng.exponential(20.0, m))
    hue = rng.uniform(0, 2 * np.pi, m)
    pick, start = rng.random(m), 0.0
    for centre, kappa, share in NATURAL_HUE_MODES:
        mode = (pick >= start) & (pick < start + share)
        hue[mode] = rng.vonmises(np.deg2rad(centre), kappa, int(mode.sum()))
        start += share
    return np.stack([lightness, chroma * np.cos(hue), chroma * np.sin(hue)], axis=1)


def gamut_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    """n x 3 sRGB colours uniform in CIELAB over the whole sRGB gamut."""
    return _in_gamut_lab(rng, n, _uniform_lab)


def natural_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    """n x 3 sRGB colours with natural-photo statistics (warm and blue hues common)."""
    return _in_gamut_lab(rng, n, _natural_lab)


# --- dead leaves (ISO 19567-2) ------------------------------------------------------------

DEAD_LEAVES_EXPONENT = 3.0   # p(r) ~ r^-3: the scale-invariant dead-leaves texture
DEAD_LEAVES_LAYERS = 4.0     # discs cover the picture ~4 times over: < 2 % left uncovered


def power_law_radii(rng: np.random.Generator, n: int, r_min: float, r_max: float,
                    exponent: float = DEAD_LEAVES_EXPONENT) -> np.ndarray:
    """`n` radii with density proportional to r^-exponent on [r_min, r_max] (inverse CDF)."""
    a = 1.0 - exponent
    u = rng.random(n)
    return (r_min ** a + u * (r_max ** a - r_min ** a)) ** (1.0 / a)


def _mean_disc_area(r_min: float, r_max: float, exponent: float) -> float:
    r = power_law_radii(np.random.default_rng(0), 4096, r_min, r_max, exponent)
    return float(np.pi * np.mean(r ** 2))


def dead_leaves_field(rng: np.random.Generator, size: int, colours,
                      exponent: float = DEAD_LEAVES_EXPONENT, shape: str = "disc",
                      labels: np.ndarray | None = None) -> np.ndarray:
    """uint8 HxWx3: opaque discs (or leaf-shaped ellipses), later ones on top, radii from the
    power law between ~1 pixel and a quarter of the picture, colours from `colours(rng, n)`.
    With `labels` (float32 HxW), each pixel also gets the number of the disc on top (its
    colour's row in `colours`' draw; the last row is the ground), drawn without
    anti-aliasing."""
    r_min, r_max = max(1.0, size / 200), size / 4
    count = int(min(60000, np.ceil(DEAD_LEAVES_LAYERS * size * size
                                   / _mean_disc_area(r_min, r_max, exponent))))
    # Drawn in random order, later on top: the stationary dead-leaves texture (what shows is
    # the top layer of a pile deep enough that little of the first colour shows through).
    radii = power_law_radii(rng, count, r_min, r_max, exponent)
    centres = rng.uniform(-0.05 * size, 1.05 * size, (count, 2))
    paint = _to_uint8(colours(rng, count + 1))
    img = np.empty((size, size, 3), np.uint8)
    img[:] = paint[-1]
    if labels is not None:
        labels[:] = count
    shift = 4   # sub-pixel centres and radii (cv2 fixed point)
    angles = rng.uniform(0, 180, count)
    for k, ((cx, cy), r, c, angle) in enumerate(zip(centres * 16, radii * 16, paint, angles)):
        colour = tuple(int(v) for v in c)
        for target, value, line in ((img, colour, cv2.LINE_AA), (labels, float(k), cv2.LINE_8)):
            if target is None:
                continue
            if shape == "disc":
                cv2.circle(target, (int(cx), int(cy)), max(1, int(r)), value, -1, line, shift)
            else:
                cv2.ellipse(target, (int(cx), int(cy)), (max(1, int(r)), max(1, int(r * 0.45))),
                            float(angle), 0, 360, value, -1, line, shift)
    return img


def dead_leaves(rng: np.random.Generator, size: int) -> np.ndarray:
    """Dead leaves with gamut-filling colours or natural-photo colours (half of each)."""
    colours = gamut_colours if rng.random() < 0.5 else natural_colours
    return _print_blur(dead_leaves_field(rng, size, colours), size)


def print_blur_sigma(size: int) -> float:
    """Gaussian sigma (px) of every generated print: ink spreads a little, so no drawn edge is
    razor-sharp."""
    return max(0.5, size / 256)


def _print_blur(img: np.ndarray, size: int) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), print_blur_sigma(size))


# --- smooth fields, foliage, sky ----------------------------------------------------------

def _low_frequency(rng: np.random.Generator, size: int, cells: int, channels: int = 3):
    """Float HxWxC: random values on a coarse grid, smoothly interpolated."""
    coarse = rng.random((cells, cells, channels)).astype(np.float32)
    field = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    return cv2.GaussianBlur(field, (0, 0), size / cells / 2).reshape(size, size, channels)


def smooth_field(rng: np.random.Generator, size: int) -> np.ndarray:
    """A two-colour ramp, or a low-frequency blend of a few natural colours."""
    if rng.random() < 0.5:
        return gradient(rng, size)
    k = int(rng.integers(3, 6))
    palette = natural_colours(rng, k)
    weights = _low_frequency(rng, size, int(rng.integers(2, 5)), k) ** 3 + 1e-3
    weights /= weights.sum(axis=2, keepdims=True)
    return _to_uint8(weights @ palette)


def _foliage_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    # Leaves: yellow-green to blue-green, some autumn browns, sunlit or in shade.
    hue = np.where(rng.random(n) < 0.85, rng.uniform(0.17, 0.42, n), rng.uniform(0.03, 0.12, n))
    sat = rng.uniform(0.35, 0.9, n)
    val = rng.uniform(0.12, 0.85, n) ** 1.3
    return np.array([colorsys.hsv_to_rgb(h, s, v) for h, s, v in zip(hue, sat, val)], np.float32)


def foliage(rng: np.random.Generator, size: int, leaves: dict | None = None) -> np.ndarray:
    """Overlapping leaf-shaped ellipses in greens and browns with dark gaps between them.
    With a dict `leaves`, it also receives what a scene made of leaves needs: "labels" (HxW
    int32: the leaf on top of each pixel), "colours" (each leaf's sRGB, float [0, 1]) and
    "light" (HxW: the sun-and-shade factor)."""
    colours = []

    def drawn(rng, n):   # the foliage palette, kept so each label can name its colour
        colours.append(_foliage_colours(rng, n))
        return colours[-1]

    labels = np.zeros((size, size), np.float32)
    img = dead_leaves_field(rng, size, drawn, shape="leaf",
                            labels=None if leaves is None else labels).astype(np.float32)
    light = 0.55 + 0.45 * _low_frequency(rng, size, 3, 1)   # patches of sun and shade
    if leaves is not None:
        leaves.update(labels=labels.astype(np.int32), light=light[..., 0],
                      colours=_to_uint8(colours[0]).astype(np.float32) / 255)
    return _print_blur(_to_uint8(img / 255 * light), size)


def sky(rng: np.random.Generator, size: int) -> np.ndarray:
    """A blue sky paling to the horizon, clouds, and (most of the time) land beneath."""
    x, y = _grid(size)
    top = _hsv(rng.uniform(0.55, 0.65), rng.uniform(0.4, 0.9), rng.uniform(0.45, 0.95))
    horizon = _hsv(rng.uniform(0.5, 0.62), rng.uniform(0.05, 0.35), rng.uniform(0.8, 1.0))
    img = top * (1 - y[..., None]) + horizon * y[..., None]
    cover = rng.uniform(0.0, 0.8)
    clouds = _low_frequency(rng, size, 6, 1) * 0.6 + _low_frequency(rng, size, 16, 1) * 0.4
    alpha = np.clip((clouds - (1 - cover)) * 4, 0, 1)
    shade = rng.uniform(0.75, 1.0) - 0.25 * _low_frequency(rng, size, 10, 1)
    img = img * (1 - alpha) + alpha * shade
    if rng.random() < 0.7:
        line = rng.uniform(0.5, 0.85) + 0.05 * np.sin(x * rng.uniform(3, 12) + rng.random() * 6)
        land = (foliage(rng, size).astype(np.float32) / 255 if rng.random() < 0.6
                else _gradient_field(rng, size) * 0.7)
        below = np.clip((y - line) * size / 2, 0, 1)[..., None]
        img = img * (1 - below) + land * below
    return _print_blur(_to_uint8(img), size)


GENERATORS = {"skin": skin_faces, "chart": colour_chart, "gradient": gradient,
              "deadleaves": dead_leaves, "smooth": smooth_field, "foliage": foliage, "sky": sky,
              "clothes": clothes}
