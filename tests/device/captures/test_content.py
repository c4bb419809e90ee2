"""Print content: offline, deterministic, the requested size, and the kinds it promises."""
import cv2
import numpy as np
import pytest

from device.common.errors import UserError
from device.content import iter_prints
from device.content.generated import SKIN_TONES, colour_chart, gradient, skin_faces
from device.content.photos import BUNDLED_PHOTOS, load_bundled_photo


def test_every_bundled_photo_ships_in_the_wheel_and_is_colour():
    for name in BUNDLED_PHOTOS:
        rgb = load_bundled_photo(name)
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert np.abs(rgb[..., 0].astype(int) - rgb[..., 2]).mean() > 3, name   # not grey


def test_bundled_content_is_deterministic_sized_and_mixed():
    a = list(iter_prints(None, 8, 40, seed=3))
    b = list(iter_prints(None, 8, 40, seed=3))
    c = list(iter_prints(None, 8, 40, seed=4))
    assert [n for n, _ in a] == [n for n, _ in b]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b))
    assert not all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, c))
    assert all(img.shape == (40, 40, 3) and img.dtype == np.uint8 for _, img in a)
    kinds = {name.split("-")[1] for name, _ in a}
    assert kinds == {"photo", "skin", "chart", "gradient"}
    assert len({n for n, _ in a}) == 8


def test_gradients_are_smooth():
    img = gradient(np.random.default_rng(0), 128).astype(np.float32)
    steps = np.abs(np.diff(img, axis=0)).max(), np.abs(np.diff(img, axis=1)).max()
    assert max(steps) <= 8   # no edges: at most a few levels between neighbouring pixels


def test_skin_scenes_contain_skin_tones():
    img = skin_faces(np.random.default_rng(1), 128).reshape(-1, 3).astype(np.float32)
    tones = np.array(SKIN_TONES, np.float32)
    nearest = np.min(np.linalg.norm(img[:, None] - tones[None], axis=2), axis=1)
    assert (nearest < 30).mean() > 0.1   # a good share of pixels is close to a skin swatch


def test_charts_hold_saturated_patches():
    for seed in range(4):
        img = colour_chart(np.random.default_rng(seed), 96)
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).reshape(-1, 3)
        assert (hsv[:, 1] > 150).mean() > 0.1, seed


def test_user_prints_are_all_printed_and_count_picks_a_subset(tmp_path):
    for i in range(5):
        cv2.imwrite(str(tmp_path / f"face {i}.jpg"), np.full((30, 20, 3), 40 * i, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    names = [n for n, _ in iter_prints(tmp_path, None, 16, seed=0)]
    assert names == [f"face-{i}" for i in range(5)]
    subset = [n for n, _ in iter_prints(tmp_path, 3, 16, seed=0)]
    assert len(subset) == 3 and set(subset) <= set(names)
    with pytest.raises(UserError, match="--count 6"):
        iter_prints(tmp_path, 6, 16, seed=0)
