"""Print content: offline, deterministic, the requested size, and the kinds it promises."""
import cv2
import numpy as np
import pytest

from device.common.errors import UserError
from device.content import iter_prints
from device.content.generated import (SKIN_TONES, colour_chart, dead_leaves_field,
                                      gamut_colours, gradient, natural_colours,
                                      power_law_radii, skin_faces)
from device.content.photos import (BUNDLED_PHOTOS, HELD_OUT_PHOTOS, TRAINING_PHOTOS,
                                   load_bundled_photo)
from device.content.prints import DEFAULT_MIX, parse_mix, plan_prints
from device.sim import srgb_to_lab


def test_every_bundled_photo_ships_in_the_wheel_and_is_colour():
    for name in BUNDLED_PHOTOS:
        rgb = load_bundled_photo(name)
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert np.abs(rgb[..., 0].astype(int) - rgb[..., 2]).mean() > 3, name   # not grey


def test_bundled_content_is_deterministic_sized_and_mixed():
    a = list(iter_prints(None, 11, 40, seed=3))
    b = list(iter_prints(None, 11, 40, seed=3))
    c = list(iter_prints(None, 11, 40, seed=4))
    assert [n for n, _ in a] == [n for n, _ in b]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, b))
    assert not all(np.array_equal(x, y) for (_, x), (_, y) in zip(a, c))
    assert all(img.shape == (40, 40, 3) and img.dtype == np.uint8 for _, img in a)
    kinds = {name.split("-")[1] for name, _ in a}   # 11 scenes: every kind of the default mix
    assert kinds == {"deadleaves", "faces", "charts", "smooth", "foliage", "sky"}
    # ... and no photo: pictures cropped hundreds of times are learned by heart.
    assert DEFAULT_MIX["photos"] == 0
    with_photos = plan_prints(None, 11, mix={**DEFAULT_MIX, "photos": 1.0})
    assert any(p.kind == "photos" for p in with_photos.prints)
    assert len({n for n, _ in a}) == 11


def test_the_mix_weights_set_the_proportions():
    plan = plan_prints(None, 600, mix=parse_mix("deadleaves=4,charts=1,photos=1"))
    kinds = [p.kind for p in plan.prints]
    assert (kinds.count("deadleaves"), kinds.count("charts"), kinds.count("photos")) == \
        (400, 100, 100)
    assert plan.split_unit == "source"
    photos = [p for p in plan.prints if p.kind == "photos"]
    assert {p.source for p in photos} == {f"photo:{n}" for n in TRAINING_PHOTOS}
    generated = [p.source for p in plan.prints if p.kind != "photos"]
    assert len(set(generated)) == len(generated)   # each generated scene is its own source


@pytest.mark.parametrize("spec, words", [
    ("deadleaves=4,kittens=2", "'kittens=2'"), ("faces", "'faces'"),
    ("charts=-1", "charts"), ("charts=1,charts=2", "charts"), ("sky=0", "above 0"),
    ("sky=x", "sky")])
def test_a_bad_mix_is_refused_naming_the_option(spec, words):
    with pytest.raises(UserError, match="--mix") as why:
        parse_mix(spec)
    assert words in str(why.value)


def test_held_out_photos_never_enter_training_content():
    assert set(HELD_OUT_PHOTOS) <= set(BUNDLED_PHOTOS) and len(HELD_OUT_PHOTOS) == 3
    assert not set(HELD_OUT_PHOTOS) & set(TRAINING_PHOTOS)
    for mix in ({**DEFAULT_MIX, "photos": 1.0}, parse_mix("photos=1"),
                parse_mix("faces=1,photos=5")):
        plan = plan_prints(None, 300, mix=mix)
        used = {p.ref for p in plan.prints if p.kind == "photos"}
        assert used and not used & set(HELD_OUT_PHOTOS)
    held = plan_prints(None, 9, held_out=True)
    assert sorted({p.ref for p in held.prints}) == sorted(HELD_OUT_PHOTOS)


def test_an_lfw_folder_splits_by_person(tmp_path):
    for person, n in (("Ann_Lee", 3), ("Bo_Chan", 1), ("Cy_Do", 2)):
        (tmp_path / person).mkdir()
        for k in range(1, n + 1):
            cv2.imwrite(str(tmp_path / person / f"{person}_{k:04d}.jpg"),
                        np.zeros((8, 8, 3), np.uint8))
    plan = plan_prints(tmp_path)
    assert plan.split_unit == "person"
    assert sorted({p.source for p in plan.prints}) == ["person:Ann_Lee", "person:Bo_Chan",
                                                       "person:Cy_Do"]
    cv2.imwrite(str(tmp_path / "holiday.jpg"), np.zeros((8, 8, 3), np.uint8))
    plan = plan_prints(tmp_path)   # not every file names a person: each file is its own unit
    assert plan.split_unit == "file" and len({p.source for p in plan.prints}) == 7


def test_dead_leaves_radii_follow_the_power_law():
    r = power_law_radii(np.random.default_rng(0), 20000, 1.0, 1000.0, exponent=3.0)
    assert r.min() >= 1.0 and r.max() <= 1000.0
    # Maximum-likelihood exponent of a power law above r_min (the upper cut is far away).
    assert 1 + len(r) / np.log(r).sum() == pytest.approx(3.0, abs=0.05)
    # P(r > 2) = 1/4 for r^-3 above 1: the scale-invariant fall-off.
    assert (r > 2).mean() == pytest.approx(0.25, abs=0.01)


def test_dead_leaves_colours_cover_the_gamut():
    lab = srgb_to_lab(gamut_colours(np.random.default_rng(1), 4000)[None])[0]
    assert lab[:, 0].min() < 10 and lab[:, 0].max() > 90          # darks to lights
    # In every hue sector the colours reach most of the chroma the sRGB gamut allows there
    # (the gamut itself: the surface of the RGB cube on a 17-level grid).
    levels = np.linspace(0, 1, 17)
    cube = np.stack(np.meshgrid(levels, levels, levels), axis=-1).reshape(1, -1, 3)

    def most_chroma_per_hue(lab):
        hue = (np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360 // 30).astype(int)
        chroma = np.hypot(lab[:, 1], lab[:, 2])
        return np.array([chroma[hue == k].max() for k in range(12)])

    reached = most_chroma_per_hue(lab) / most_chroma_per_hue(srgb_to_lab(cube)[0])
    assert reached.min() > 0.85, reached.round(2)
    img = dead_leaves_field(np.random.default_rng(2), 128, gamut_colours)
    # Many distinct colours at many scales, not one disc filling the picture.
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 500


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


def test_natural_colours_favour_warm_hues_and_keep_every_hue_and_chroma():
    lab = srgb_to_lab(natural_colours(np.random.default_rng(3), 8000)[None])[0]
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    coloured = chroma > 10                      # a grey's hue angle means nothing
    share = np.histogram(hue[coloured], bins=12, range=(0, 360))[0] / coloured.sum()
    warm, pink = share[[1, 2]].sum(), share[[10, 11]].sum()   # 30-90 deg against 300-360 deg
    # Orange and pink read almost alike in the NIR: the prior must say which is commoner.
    assert warm > 2 * pink, share.round(3)
    assert share.min() > 0.01, share.round(3)  # yet no hue is missing
    # Dull colours commonest, vivid ones not rare (the gamut rejects many vivid draws).
    assert 0.1 < (chroma > 40).mean() < 0.5
