"""The self-test's contact sheet: one PNG with the dark frame and each LED's frame lit alone
(top row), each LED's sub-frame from the viewer's own strobe and the colour result (bottom row),
each labelled. Raw frames share one grey scale (dark level to the brightest frame's bright end),
so a dead LED shows black and a swapped one its neighbour's brightness; clipped pixels are red."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from device.common.files import atomic_output
from device.procedures.selftest.evidence import Evidence
from device.procedures.selftest.judge import Image, mean_frame

TILE_W = 240
LABEL_H = 20
TITLE_H = 28
GAP = 4
CLIPPED = (255, 40, 40)
Tile = tuple[str, "Image | None", bool]   # label, image, raw (True) or sRGB


def tiles(ev: Evidence) -> list[list[Tile]]:
    top: list[Tile] = [("dark (all off)", ev.dark_mean, True)]
    top += [(f"{nm} nm alone", mean_frame([s.image for s in ev.alone[nm]])
             if ev.alone.get(nm) else None, True) for nm in ev.wavelengths]
    strobed = {sub.nm: sub.image for sub in ev.cycle}
    bottom: list[Tile] = [(f"{nm} nm, viewer's strobe", strobed.get(nm), True)
                          for nm in ev.wavelengths]
    bottom.append(("colour result", ev.colour, False))
    return [top, bottom]


def render(ev: Evidence, title: str) -> NDArray[np.uint8]:
    rows = tiles(ev)
    raw = [t[1] for row in rows for t in row if t[2] and t[1] is not None]
    low = ev.dark.level if ev.dark is not None else 0.0
    high = max((float(np.percentile(r, 99.5)) for r in raw), default=low + 1.0)
    h, w = ev.config.camera.height, ev.config.camera.width
    tile_h = max(1, round(TILE_W * h / w))
    columns = max(len(row) for row in rows)
    sheet = np.full((TITLE_H + len(rows) * (LABEL_H + tile_h + GAP),
                     columns * (TILE_W + GAP) - GAP, 3), 255, np.uint8)
    _text(sheet, title, (6, 19), 0.55)
    for r, row in enumerate(rows):
        y = TITLE_H + r * (LABEL_H + tile_h + GAP)
        for col, (label, image, is_raw) in enumerate(row):
            x = col * (TILE_W + GAP)
            _text(sheet, label, (x + 2, y + 14), 0.42)
            picture = _picture(image, is_raw, low, high, ev.saturation, (tile_h, TILE_W))
            sheet[y + LABEL_H:y + LABEL_H + tile_h, x:x + TILE_W] = picture
    return sheet


def _picture(image: Image | None, raw: bool, low: float, high: float,
             saturation: float, size: tuple[int, int]) -> NDArray[np.uint8]:
    if image is None:
        blank = np.full((*size, 3), 200, np.uint8)
        _text(blank, "not taken", (8, size[0] // 2), 0.45)
        return blank
    if raw:
        grey = np.clip((image.astype(np.float64) - low) / max(high - low, 1.0), 0, 1)
        rgb = np.repeat((grey * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=2)
        rgb[image >= saturation] = CLIPPED
    else:
        rgb = np.asarray(image, np.uint8)
    shrink = size[1] < rgb.shape[1]
    resized = cv2.resize(rgb, (size[1], size[0]),
                         interpolation=cv2.INTER_AREA if shrink else cv2.INTER_NEAREST)
    return np.asarray(resized, np.uint8)


def _text(image: NDArray[np.uint8], text: str, at: tuple[int, int], scale: float) -> None:
    cv2.putText(image, text, at, cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 1, cv2.LINE_AA)


def write(ev: Evidence, title: str, path: Path) -> None:
    ok, png = cv2.imencode(".png", cv2.cvtColor(render(ev, title), cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("OpenCV could not encode the contact sheet")
    with atomic_output(path) as tmp:
        tmp.write_bytes(png.tobytes())
